package io.qwenserve.engine;

/** Comparing logits rows ([positions][vocab]) in tests. */
public final class TestLogits {
    private TestLogits() {}

    /** The largest |a - b| over every row and column. */
    public static double maxAbsDiff(float[][] a, float[][] b) {
        double worst = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                worst = Math.max(worst, Math.abs((double) a[t][v] - b[t][v]));
            }
        }
        return worst;
    }

    /** The largest |a - b| against a float64 reference. */
    public static double maxAbsDiff(float[][] a, double[][] b) {
        double worst = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                worst = Math.max(worst, Math.abs(a[t][v] - b[t][v]));
            }
        }
        return worst;
    }
}
