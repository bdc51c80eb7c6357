package io.qwenserve.engine.model;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the copies between Java and libtorch tensors: host data into a tensor ({@link Torch#longs}, {@link
 * Torch#floats}, {@link StepBuffer#upload}) and tensor data back into Java ({@link Torch#toFloats} and the like). Every
 * copy of a step goes through these helpers, so a test can count what one step costs; on CUDA each one is a transfer
 * over the bus (and each copy back a synchronisation).
 */
public final class Transfers {
    private static final AtomicLong TO_DEVICE = new AtomicLong();
    private static final AtomicLong TO_HOST = new AtomicLong();
    private static final AtomicLong BETWEEN_DEVICES = new AtomicLong();

    private Transfers() {}

    /** Copies of host data into tensors so far (process-wide). */
    public static long toDevice() {
        return TO_DEVICE.get();
    }

    /** Copies of tensor data back into Java so far (process-wide). */
    public static long toHost() {
        return TO_HOST.get();
    }

    /** Copies of a step's hidden state from one stage's device to the next's so far (process-wide; see {@link DeviceMap}). */
    public static long betweenDevices() {
        return BETWEEN_DEVICES.get();
    }

    static void countBetweenDevices() {
        BETWEEN_DEVICES.incrementAndGet();
    }

    static void countToDevice() {
        TO_DEVICE.incrementAndGet();
    }

    static void countToHost() {
        TO_HOST.incrementAndGet();
    }
}
