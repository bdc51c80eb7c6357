package io.qwenserve.engine.reference;

import static io.qwenserve.engine.reference.RefMath.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ReferenceQwen}'s position handling against hand computations: RoPE as a complex rotation of half-split pairs,
 * dynamic NTK and logN against the spec's tables.
 */
class ReferenceRopeSanityTest {
    private static final double EPS = 1e-6;

    // ---- RoPE ------------------------------------------------------------------------------------------------------

    @Test
    void ropeIsAComplexRotationOfHalfSplitPairsAndLeavesTheTailAlone() {
        int hd = 10;
        int r = 6;
        double base = 10000;
        Random rnd = new Random(1);
        for (int pos : new int[] {0, 1, 7, 123, 4096}) {
            double[] u = randomVector(rnd, 2 * hd);
            double[] v = u.clone();
            ReferenceQwen.applyRope(v, hd, r, pos, ReferenceQwen.inverseFrequencies(base, r));   // head 1 only
            for (int i = 0; i < hd; i++) {
                assertEquals(u[i], v[i], "head 0 must be untouched");
            }
            for (int j = 0; j < r / 2; j++) {
                double theta = pos / Math.pow(base, 2.0 * j / r);
                // (a + ib) · e^{iθ}
                double re = u[hd + j] * Math.cos(theta) - u[hd + j + r / 2] * Math.sin(theta);
                double im = u[hd + j] * Math.sin(theta) + u[hd + j + r / 2] * Math.cos(theta);
                assertEquals(re, v[hd + j], 1e-12);
                assertEquals(im, v[hd + j + r / 2], 1e-12);
            }
            for (int i = r; i < hd; i++) {
                assertEquals(u[hd + i], v[hd + i], "dims at index >= rotary dim pass through");
            }
            assertEquals(norm(u), norm(v), 1e-12, "rotation preserves the norm");
        }
    }

    @Test
    void ropeScoresDependOnlyOnTheRelativePosition() {
        int r = 16;
        double[] inv = ReferenceQwen.inverseFrequencies(10000, r);
        Random rnd = new Random(2);
        double[] q = randomVector(rnd, r);
        double[] k = randomVector(rnd, r);
        double base = rotatedDot(q, 9, k, 4, inv);
        assertEquals(base, rotatedDot(q, 5, k, 0, inv), 1e-12);
        assertEquals(base, rotatedDot(q, 1009, k, 1004, inv), 1e-10);
        assertNotEquals(base, rotatedDot(q, 10, k, 4, inv), 1e-6);
        double[] q0 = q.clone();
        ReferenceQwen.applyRope(q0, 0, r, 0, inv);
        assertArrayEquals(q, q0, "position 0 is the identity");
    }

    private static double rotatedDot(double[] q, int p, double[] k, int s, double[] inv) {
        double[] a = q.clone();
        double[] b = k.clone();
        ReferenceQwen.applyRope(a, 0, a.length, p, inv);
        ReferenceQwen.applyRope(b, 0, b.length, s, inv);
        return dot(a, b);
    }

    // ---- dynamic NTK and logN -------------------------------------------------------------------------------------

    @Test
    void ntkAlphaFollowsTheSpecTable() {
        long[][] s8192 = {{1, 1}, {8192, 1}, {8193, 3}, {16384, 3}, {16385, 7}, {32768, 7}, {32769, 15}, {65536, 15}};
        for (long[] row : s8192) {
            assertEquals(row[1], ReferenceQwen.ntkAlpha(row[0], 8192), "L=" + row[0]);
        }
        long[][] s2048 = {{2048, 1}, {2049, 3}, {4096, 3}, {4097, 7}, {8192, 7}, {8193, 15}, {16384, 15}};
        for (long[] row : s2048) {
            assertEquals(row[1], ReferenceQwen.ntkAlpha(row[0], 2048), "L=" + row[0]);
        }
        // Against the literal floating-point formula max(2^ceil(log2(L/S) + 1) - 1, 1), away from exact powers of 2.
        for (long len = 1; len < 200; len++) {
            double lit = Math.max(Math.pow(2, Math.ceil(Math.log((double) len / 16) / Math.log(2) + 1)) - 1, 1);
            assertEquals((long) lit, ReferenceQwen.ntkAlpha(len, 16), "L=" + len);
        }
    }

    @Test
    void ntkScaledBaseMatchesTheSpecValues() {
        assertEquals(10000.0, ReferenceQwen.ntkScaledBase(10000, 1, 128), 1e-9);
        assertEquals(30527.74, ReferenceQwen.ntkScaledBase(10000, 3, 128), 0.01);
        assertEquals(72195.86, ReferenceQwen.ntkScaledBase(10000, 7, 128), 0.01);
        assertEquals(156588.32, ReferenceQwen.ntkScaledBase(10000, 15, 128), 0.01);
    }

    @Test
    void lognScaleMatchesTheSpecValues() {
        assertEquals(1.0, ReferenceQwen.lognScale(0, 8192));
        assertEquals(1.0, ReferenceQwen.lognScale(8191, 8192));
        assertEquals(1.0000135, ReferenceQwen.lognScale(8192, 8192), 1e-7);
        assertEquals(14.0 / 13, ReferenceQwen.lognScale(16383, 8192), 1e-12);
        assertEquals(15.0 / 13, ReferenceQwen.lognScale(32767, 8192), 1e-12);
    }

    // ---- whole tiny models ---------------------------------------------------------------------------------------
}
