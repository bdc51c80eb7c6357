package io.qwenserve.engine.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Process memory and machine memory bandwidth, for benchmark reports. */
public final class Memory {
    private Memory() {}

    /** Resident set size of this process (Linux /proc), or -1. */
    public static long rssBytes() {
        return status("VmRSS:");
    }

    /**
     * Anonymous resident memory (heap, native allocations, tensors), or -1: what a leak grows. Unlike {@link #rssBytes}
     * it leaves out pages of memory-mapped checkpoint files, which the kernel maps in and drops at will.
     */
    public static long anonRssBytes() {
        return status("RssAnon:");
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Peak resident set size of this process so far (Linux VmHWM), or -1. */
    public static long peakRssBytes() {
        return status("VmHWM:");
    }

    /** Minor page faults of this process so far (Linux /proc/self/stat), or -1: fresh memory touched for the first time. */
    public static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]); // field 10 of stat, counted from the state (field 3)
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * Plain memory-read bandwidth with libtorch's threads: the best of several sums over a 512 MiB buffer (far larger
     * than any cache).
     */
    public static double readBandwidthBytesPerSecond() {
        try (PointerScope scope = new PointerScope()) {
            long n = 128L << 20; // floats
            Tensor t = torch.ones(n);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 6; i++) {
                long t0 = System.nanoTime();
                try (Tensor s = t.sum()) {
                    s.item_float();
                }
                best = Math.min(best, System.nanoTime() - t0);
            }
            return n * 4 / (best / 1e9);
        }
    }
}
