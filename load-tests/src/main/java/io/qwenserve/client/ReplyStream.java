package io.qwenserve.client;

import io.qwenserve.proto.v1.Chunk;
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
 * The replies of one Kafka request, each token and each character exactly once and in order: chunks, then one
 * terminal message (final or error). Kafka delivers at least once: a request redone after a replica failed sends its
 * output again from the first token, cut into chunks that need not match the first attempt's (a lagging reader's
 * chunks are merged). So repeats are found by position, not by seq: a chunk's {@code first_token_index} and
 * {@code text_offset} say where its ids and its text start in the request's output; what was already seen is cut off,
 * a chunk with nothing new is dropped, and so is anything after the terminal message. Messages come out renumbered
 * (seq 0, 1, 2, ..., the terminal one last). Filled by the client's reply thread, read by one caller.
 */
public final class ReplyStream implements Iterator<GenerateResponse> {
    private static final Duration NEXT_TIMEOUT = Duration.ofMinutes(10);

    private final String id;
    private final LinkedBlockingQueue<GenerateResponse> queue = new LinkedBlockingQueue<>();
    /** Seq of the next message handed out. */
    private long nextSeq;
    /** Token ids and characters (code points) of the output handed out so far. */
    private int nextToken;
    private int textLength;
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

    /** Reply thread: queues what is new in a message; returns whether this was the terminal one. */
    synchronized boolean offer(GenerateResponse r) {
        if (r.getKindCase() == GenerateResponse.KindCase.KIND_NOT_SET) {
            return false;
        }
        if (terminalQueued) {
            duplicates++;
            return false;
        }
        if (r.hasChunk()) {
            Chunk c = r.getChunk();
            int ids = c.getTokenIdsCount();
            int chars = c.getText().codePointCount(0, c.getText().length());
            int seenIds = Math.max(0, Math.min(ids, nextToken - c.getFirstTokenIndex()));
            int seenChars = Math.max(0, Math.min(chars, textLength - c.getTextOffset()));
            if (seenIds > 0 || seenChars > 0) {
                duplicates++;
                if (seenIds == ids && seenChars == chars) {
                    return false;
                }
                c = unseenPart(c, seenIds, seenChars);
            }
            nextToken = Math.max(nextToken, c.getFirstTokenIndex() + c.getTokenIdsCount());
            textLength = Math.max(textLength, c.getTextOffset() + c.getText().codePointCount(0, c.getText().length()));
            queue.add(r.toBuilder().setChunk(c.toBuilder().setSeq(nextSeq++)).build());
            return false;
        }
        terminalQueued = true;
        queue.add(switch (r.getKindCase()) {
            case FINAL -> r.toBuilder().setFinal(r.getFinal().toBuilder().setSeq(nextSeq++)).build();
            default -> r.toBuilder().setError(r.getError().toBuilder().setSeq(nextSeq++)).build();
        });
        return true;
    }

    /** The chunk without its first {@code ids} token ids (and their logprobs) and its first {@code chars} characters. */
    static Chunk unseenPart(Chunk c, int ids, int chars) {
        Chunk.Builder b = c.toBuilder().clearTokenIds().addAllTokenIds(c.getTokenIdsList().subList(ids, c.getTokenIdsCount()))
                .setFirstTokenIndex(c.getFirstTokenIndex() + ids)
                .setText(c.getText().substring(c.getText().offsetByCodePoints(0, chars))).setTextOffset(c.getTextOffset() + chars);
        if (c.getLogprobsCount() == c.getTokenIdsCount()) {
            b.clearLogprobs().addAllLogprobs(c.getLogprobsList().subList(ids, c.getLogprobsCount()));
        }
        return b.build();
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

    /** Messages that repeated output already seen (dropped, or cut to their new part) so far. */
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
