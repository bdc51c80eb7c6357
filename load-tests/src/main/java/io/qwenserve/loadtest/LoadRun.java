package io.qwenserve.loadtest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One load run against a target, bounded in time and in request count: a fixed number of closed-loop clients
 * ({@code concurrency}), or open-loop Poisson arrivals at {@code rate} requests per second (arrivals never wait for
 * earlier requests; at most {@code maxInFlight} are outstanding, beyond which arrivals are counted as dropped).
 */
public final class LoadRun {
    /** How requests arrive. Exactly one of concurrency and rate is positive. */
    public record Mode(int concurrency, double rate) {
        public static Mode closed(int concurrency) {
            return new Mode(concurrency, 0);
        }

        public static Mode open(double rate) {
            return new Mode(0, rate);
        }

        @Override
        public String toString() {
            return concurrency > 0 ? "concurrency " + concurrency : String.format("rate %.2f req/s", rate);
        }
    }

    /** Live counters for the progress bar. */
    public static final class Progress {
        public final AtomicInteger sent = new AtomicInteger();
        public final AtomicInteger completed = new AtomicInteger();
        public final AtomicInteger failed = new AtomicInteger();
        public final AtomicInteger inFlight = new AtomicInteger();
        public final AtomicLong tokens = new AtomicLong();
    }

    private final LoadTarget target;
    private final Dataset dataset;
    private final Mode mode;
    private final double durationSeconds;
    private final int maxRequests;
    private final int maxInFlight;
    private final String idPrefix;
    public final Progress progress = new Progress();

    public LoadRun(LoadTarget target, Dataset dataset, Mode mode, double durationSeconds, int maxRequests, int maxInFlight, String idPrefix) {
        this.target = target;
        this.dataset = dataset;
        this.mode = mode;
        this.durationSeconds = durationSeconds;
        this.maxRequests = maxRequests;
        this.maxInFlight = maxInFlight;
        this.idPrefix = idPrefix;
    }

    /** Runs to the end and returns every request's result (in completion order); ticks every second. */
    public List<RequestResult> run(Consumer<Progress> tick) throws InterruptedException {
        List<RequestResult> results = Collections.synchronizedList(new ArrayList<>());
        long clock = System.nanoTime();
        long end = clock + (long) (durationSeconds * 1e9);
        AtomicLong next = new AtomicLong();
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "load-client");
            t.setDaemon(true);
            return t;
        });
        Runnable one = () -> {
            long i = next.getAndIncrement();
            Dataset.Entry e = dataset.get(i);
            progress.inFlight.incrementAndGet();
            RequestResult r = target.send(new RequestSpec(idPrefix + i, e.prompt(), e.promptIds(), e.maxTokens()), clock);
            progress.inFlight.decrementAndGet();
            results.add(r);
            (r.ok() ? progress.completed : progress.failed).incrementAndGet();
            progress.tokens.addAndGet(r.outputTokens());
        };
        if (mode.concurrency() > 0) {
            for (int c = 0; c < mode.concurrency(); c++) {
                pool.execute(() -> {
                    while (System.nanoTime() < end && progress.sent.incrementAndGet() <= maxRequests) {
                        one.run();
                    }
                });
            }
        } else {
            Semaphore slots = new Semaphore(maxInFlight);
            SplittableRandom random = new SplittableRandom(42);
            pool.execute(() -> {
                long at = System.nanoTime();
                while (at < end && progress.sent.get() < maxRequests) {
                    at += (long) (-Math.log(1 - random.nextDouble()) / mode.rate() * 1e9); // exponential gaps
                    long wait = at - System.nanoTime();
                    if (wait > 0) {
                        try {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        } catch (InterruptedException ie) {
                            return;
                        }
                    }
                    if (at >= end) {
                        break;
                    }
                    progress.sent.incrementAndGet();
                    if (!slots.tryAcquire()) {
                        results.add(new RequestResult("dropped", at - clock, at - clock, new long[0], 0, "client_overload"));
                        progress.failed.incrementAndGet();
                        continue;
                    }
                    pool.execute(() -> {
                        try {
                            one.run();
                        } finally {
                            slots.release();
                        }
                    });
                }
            });
        }
        // wait for the deadline, then for the requests still in flight (bounded)
        while (System.nanoTime() < end && (progress.completed.get() + progress.failed.get()) < maxRequests) {
            Thread.sleep(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            tick.accept(progress);
        }
        long grace = System.nanoTime() + 120_000_000_000L;
        while (progress.inFlight.get() > 0 && System.nanoTime() < grace) {
            Thread.sleep(100);
            tick.accept(progress);
        }
        pool.shutdownNow();
        synchronized (results) {
            return new ArrayList<>(results);
        }
    }

    public Mode mode() {
        return mode;
    }
}
