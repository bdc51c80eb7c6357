package io.qwenserve.loadtest;

import java.util.Arrays;

/** Percentiles (nearest rank) of a sample. */
public final class Percentiles {
    private final double[] sorted;

    public Percentiles(double[] values) {
        this.sorted = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
    }

    public double p(double percent) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    public double[] sorted() {
        return sorted;
    }

    public int count() {
        return sorted.length;
    }
}
