package io.qwenserve.engine.api;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The events of one request, from the engine loop to one consumer.
 *
 * <p>The engine never waits on a consumer: {@link #offer} only appends. The buffer is bounded by a number of events;
 * when a slow consumer lets it fill up, new chunks are merged into the last queued chunk instead (text and ids
 * concatenated), so nothing is lost and memory stays bounded by the request's own output. The terminal event is
 * always delivered last.
 *
 * <p>Consumers either pull ({@link #take}, {@link #poll}, {@link #tryNext}) or subscribe through {@link #publisher}.
 * {@link #cancel} cancels the request in the engine.
 */
public final class GenerationStream {
    private final String requestId;
    private final int capacity;
    private final ArrayDeque<GenerationEvent> queue = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition available = lock.newCondition();
    private volatile Runnable listener;
    private volatile Runnable canceller;
    private boolean terminalQueued;
    private boolean terminalTaken;

    public GenerationStream(String requestId, int capacity) {
        this.requestId = requestId;
        this.capacity = Math.max(2, capacity);
    }

    public String requestId() {
        return requestId;
    }

    /** Engine side: appends an event; never blocks. */
    public void offer(GenerationEvent event) {
        lock.lock();
        try {
            if (terminalQueued) {
                return;
            }
            if (event instanceof GenerationEvent.Chunk c && queue.size() >= capacity
                    && queue.peekLast() instanceof GenerationEvent.Chunk last) {
                queue.pollLast();
                queue.addLast(merge(last, c));
            } else {
                queue.addLast(event);
            }
            terminalQueued = event instanceof GenerationEvent.Final;
            available.signalAll();
        } finally {
            lock.unlock();
        }
        Runnable l = listener;
        if (l != null) {
            l.run();
        }
    }

    static GenerationEvent.Chunk merge(GenerationEvent.Chunk a, GenerationEvent.Chunk b) {
        int[] ids = new int[a.tokenIds().length + b.tokenIds().length];
        System.arraycopy(a.tokenIds(), 0, ids, 0, a.tokenIds().length);
        System.arraycopy(b.tokenIds(), 0, ids, a.tokenIds().length, b.tokenIds().length);
        List<GenerationEvent.TokenLogprob> lp = new ArrayList<>(a.logprobs());
        lp.addAll(b.logprobs());
        return new GenerationEvent.Chunk(a.text() + b.text(), ids, a.firstTokenIndex(), lp);
    }

    /** Next event, or null if none is queued now. */
    public GenerationEvent tryNext() {
        lock.lock();
        try {
            return takeLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Next event, waiting at most {@code timeout}; null on timeout. */
    public GenerationEvent poll(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (nanos <= 0) {
                    return null;
                }
                nanos = available.awaitNanos(nanos);
            }
            return takeLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Next event, waiting as long as needed. Returns null only after the terminal event was taken. */
    public GenerationEvent take() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (terminalTaken) {
                    return null;
                }
                available.await();
            }
            return takeLocked();
        } finally {
            lock.unlock();
        }
    }

    private GenerationEvent takeLocked() {
        GenerationEvent e = queue.pollFirst();
        if (e instanceof GenerationEvent.Final) {
            terminalTaken = true;
        }
        return e;
    }

    /** Reads the stream to its end; returns every event in order (the last one is the Final). */
    public List<GenerationEvent> drain() throws InterruptedException {
        List<GenerationEvent> all = new ArrayList<>();
        for (GenerationEvent e; (e = take()) != null; ) {
            all.add(e);
            if (e instanceof GenerationEvent.Final) {
                break;
            }
        }
        return all;
    }

    /** Number of queued events (for tests and metrics). */
    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Called after every offer, on the engine thread: must not block. */
    public void onAvailable(Runnable r) {
        this.listener = r;
        lock.lock();
        try {
            if (!queue.isEmpty()) {
                r.run();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Asks the engine to stop this request; the stream still ends with a Final (CANCELLED). */
    public void cancel() {
        Runnable c = canceller;
        if (c != null) {
            c.run();
        }
    }

    /** Engine side: how {@link #cancel} reaches the engine. */
    public void setCanceller(Runnable c) {
        this.canceller = c;
    }

    /**
     * A single-subscriber publisher over this stream, delivering on {@code executor} as the subscriber requests. The
     * subscription's cancel cancels the request.
     */
    public Flow.Publisher<GenerationEvent> publisher(Executor executor) {
        return subscriber -> {
            AtomicLong demand = new AtomicLong();
            AtomicInteger wip = new AtomicInteger();
            AtomicBoolean done = new AtomicBoolean();
            Runnable drain = () -> {
                if (wip.getAndIncrement() != 0) {
                    return;
                }
                executor.execute(() -> {
                    int missed = 1;
                    while (true) {
                        while (!done.get() && demand.get() > 0) {
                            GenerationEvent e = tryNext();
                            if (e == null) {
                                break;
                            }
                            demand.decrementAndGet();
                            subscriber.onNext(e);
                            if (e instanceof GenerationEvent.Final) {
                                done.set(true);
                                subscriber.onComplete();
                            }
                        }
                        missed = wip.addAndGet(-missed);
                        if (missed == 0) {
                            return;
                        }
                    }
                });
            };
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                    if (n <= 0) {
                        return;
                    }
                    demand.accumulateAndGet(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
                    drain.run();
                }

                @Override
                public void cancel() {
                    done.set(true);
                    GenerationStream.this.cancel();
                }
            });
            onAvailable(drain);
        };
    }
}
