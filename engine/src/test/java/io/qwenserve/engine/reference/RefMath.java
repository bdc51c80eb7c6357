package io.qwenserve.engine.reference;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

/** Vector helpers of the reference's sanity tests: plain double loops, nothing clever. */
final class RefMath {
    static final double EPS = 1e-6;

    private RefMath() {}


    /** u' = scale · u[off..off+n) + bias[boff..boff+n). */
    static double[] affine(double[] u, int off, int n, double scale, float[] bias, int boff) {
        double[] y = new double[n];
        for (int j = 0; j < n; j++) {
            y[j] = scale * u[off + j] + bias[boff + j];
        }
        return y;
    }

    /** Rotates pairs (j, j + r/2) as the complex number u[j] + i·u[j + r/2] times e^{i·pos·base^(−2j/r)}. */
    static double[] complexRope(double[] u, int pos, double base, int r) {
        double[] y = u.clone();
        for (int j = 0; j < r / 2; j++) {
            double theta = pos * Math.pow(base, -2.0 * j / r);
            double re = u[j];
            double im = u[j + r / 2];
            y[j] = re * Math.cos(theta) - im * Math.sin(theta);
            y[j + r / 2] = re * Math.sin(theta) + im * Math.cos(theta);
        }
        return y;
    }

    static double[] rmsNormalise(double[] x) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        ms /= x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / Math.sqrt(ms + EPS);
        }
        return y;
    }

    static double[] scale(double[] x, float[] w) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * w[i];
        }
        return y;
    }

    static double[] times(double[] x, double s) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * s;
        }
        return y;
    }

    static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    static double[] add(double[] a, float[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    static double[] matVec(float[] w, int rows, int cols, double[] x) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                y[r] += w[r * cols + c] * x[c];
            }
        }
        return y;
    }

    static double[] row(float[] m, int r, int cols) {
        double[] y = new double[cols];
        for (int c = 0; c < cols; c++) {
            y[c] = m[r * cols + c];
        }
        return y;
    }

    static void identity(float[] m, int rows, int cols) {
        for (int i = 0; i < Math.min(rows, cols); i++) {
            m[i * cols + i] = 1;
        }
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    static double[] randomVector(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextGaussian();
        }
        return v;
    }

    static void assertDiffers(double[] a, double[] b, String msg) {
        assertTrue(!Arrays.equals(a, b), msg);
    }
}
