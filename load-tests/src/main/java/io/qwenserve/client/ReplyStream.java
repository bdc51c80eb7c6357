package io.qwenserve.client;

import io.qwenserve.proto.v1.GenerateResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The replies of one Kafka request, each exactly once and in order: chunks, then one terminal message (final or
 * error). Kafka delivers at least once: a request redone after a replica failed sends its messages again from seq 0,
 * and a message whose seq was already seen (or anything after the terminal one) is dropped here. Filled by the
 * client's reply thread, read by one caller.
 */
public final class ReplyStream implements Iterator<GenerateResponse> {
    private static final Duration NEXT_TIMEOUT = Duration.ofMinutes(10);

    private final String id;
    private final LinkedBlockingQueue<GenerateResponse> queue = new LinkedBlockingQueue<>();
    private long nextSeq;
    private boolean terminalQueued;
    private boolean terminalTaken;
    private int duplicates;
    private volatile Exception failure;

    /** @param id the request id, or the correlation id for a request sent some other way */
    ReplyStream(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** Reply thread: queues a message unless it is a duplicate; returns whether this was the terminal one. */
    synchronized boolean offer(GenerateResponse r) {
        if (r.getKindCase() == GenerateResponse.KindCase.KIND_NOT_SET) {
            return false;
        }
        long seq = seq(r);
        if (terminalQueued || seq < nextSeq) {
            duplicates++;
            return false;
        }
        nextSeq = seq + 1;
        terminalQueued = !r.hasChunk();
        queue.add(r);
        return terminalQueued;
    }

    /** The request could not be sent. */
    void fail(Exception e) {
        failure = e;
    }

    /** The next message, or null when none came within {@code timeout}. */
    public GenerateResponse poll(Duration timeout) throws InterruptedException {
        GenerateResponse r = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (r == null && failure != null) {
            throw new IllegalStateException("the request could not be sent: " + failure, failure);
        }
        if (r != null && !r.hasChunk()) {
            terminalTaken = true;
        }
        return r;
    }

    /** Every message up to and including the terminal one. */
    public List<GenerateResponse> collect(Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<GenerateResponse> all = new ArrayList<>();
        while (!terminalTaken) {
            GenerateResponse r = poll(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (r == null) {
                throw new TimeoutException("request " + id + ": no terminal reply within " + timeout + " (" + all.size()
                        + " messages so far)");
            }
            all.add(r);
        }
        return all;
    }

    /** Messages dropped as duplicates so far. */
    public synchronized int duplicates() {
        return duplicates;
    }

    @Override
    public boolean hasNext() {
        return !terminalTaken;
    }

    /** The next message, waiting up to ten minutes. */
    @Override
    public GenerateResponse next() {
        if (terminalTaken) {
            throw new NoSuchElementException();
        }
        try {
            GenerateResponse r = poll(NEXT_TIMEOUT);
            if (r == null) {
                throw new IllegalStateException("request " + id + ": no reply within " + NEXT_TIMEOUT);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static long seq(GenerateResponse r) {
        return switch (r.getKindCase()) {
            case CHUNK -> r.getChunk().getSeq();
            case FINAL -> r.getFinal().getSeq();
            case ERROR -> r.getError().getSeq();
            case KIND_NOT_SET -> throw new IllegalArgumentException("a reply with no chunk, final or error");
        };
    }
}
