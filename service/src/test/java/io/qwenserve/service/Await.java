package io.qwenserve.service;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition that an event makes true (a stats snapshot, a health state), checking it every few ms. */
public final class Await {
    private Await() {}

    /** Returns how long it took (ms); fails with {@code what} when {@code limit} passes first. */
    public static long until(Duration limit, String what, BooleanSupplier condition) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + limit.toSeconds() + " s: " + what);
            }
            Thread.sleep(10);
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
