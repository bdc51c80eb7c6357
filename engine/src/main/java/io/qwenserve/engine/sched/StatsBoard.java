package io.qwenserve.engine.sched;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/** The engine's latest stats: published by the engine thread after every step and idle pass, read or awaited by any. */
final class StatsBoard {
    private volatile EngineStats stats;

    StatsBoard(EngineStats initial) {
        this.stats = initial;
    }

    EngineStats get() {
        return stats;
    }

    synchronized void publish(EngineStats s) {
        stats = s;
        notifyAll();
    }

    /**
     * Waits until the stats satisfy {@code condition}; {@code wake} asks the engine thread to publish again at once.
     *
     * @throws TimeoutException when {@code timeout} passes first
     */
    synchronized EngineStats await(Predicate<EngineStats> condition, Duration timeout, Runnable wake)
            throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            EngineStats s = stats;
            if (condition.test(s)) {
                return s;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new TimeoutException("engine stats never matched; last: " + s);
            }
            wake.run();
            wait(Math.max(1, left / 1_000_000));
        }
    }
}
