package io.qwenserve.engine.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Samples RSS and the committed Java heap on a daemon thread while a benchmark runs, so that a report can tell a one-off
 * step (allocator caches, the heap sizing itself) from a slope (a leak).
 */
public final class MemorySampler implements AutoCloseable {
    /** One sample: seconds since start, RSS and committed Java heap in bytes. */
    public record Sample(double seconds, long rssBytes, long heapBytes) {}

    private final List<Sample> samples = new ArrayList<>();
    private final Thread thread;
    private final long start = System.nanoTime();
    private volatile boolean running = true;

    public MemorySampler(long periodMillis) {
        thread = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        Sample s = new Sample((System.nanoTime() - start) / 1e9, Memory.rssBytes(), Runtime.getRuntime().totalMemory());
        synchronized (samples) {
            samples.add(s);
        }
    }

    /** Stops sampling (taking a last sample) and returns the samples at or just after each quarter of the run. */
    public List<Sample> quarters() {
        close();
        sample();
        synchronized (samples) {
            double end = samples.get(samples.size() - 1).seconds();
            List<Sample> q = new ArrayList<>(4);
            for (int k = 1; k <= 4; k++) {
                double t = end * k / 4;
                q.add(samples.stream().filter(s -> s.seconds() >= t).findFirst().orElse(samples.get(samples.size() - 1)));
            }
            return q;
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
