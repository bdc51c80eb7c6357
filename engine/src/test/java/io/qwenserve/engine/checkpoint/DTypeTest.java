package io.qwenserve.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** BF16 and IEEE half conversions: known values, specials, and round-to-nearest-even at every rounding boundary. */
class DTypeTest {

    private static String hex(int bits) {
        return String.format("0x%04X", bits & 0xFFFF);
    }

    private static void assertHalf(int expected, float f) {
        int actual = DType.floatToHalf(f) & 0xFFFF;
        if (actual != (expected & 0xFFFF)) {
            assertEquals(hex(expected), hex(actual), "floatToHalf(" + f + ")");
        }
    }

    private static void assertBf16(int expected, float f) {
        int actual = DType.floatToBf16(f) & 0xFFFF;
        if (actual != (expected & 0xFFFF)) {
            assertEquals(hex(expected), hex(actual), "floatToBf16(" + f + ")");
        }
    }

    @Test
    void dtypeNamesAndSizes() {
        assertEquals(2, DType.parse("BF16").size());
        assertEquals(2, DType.parse("F16").size());
        assertEquals(4, DType.parse("F32").size());
        assertEquals(8, DType.parse("F64").size());
        assertEquals(4, DType.parse("I32").size());
        assertEquals(1, DType.parse("F8_E4M3").size());
        assertNull(DType.parse("Q4_X"));
        assertNull(DType.parse("bf16"), "dtype names are case-sensitive");
        assertTrue(DType.BF16.isFloatingPoint());
        assertTrue(!DType.I32.isFloatingPoint());
    }

    // ---- bfloat16 ------------------------------------------------------------------------------------------------

    @Test
    void bf16KnownValues() {
        assertBf16(0x3F80, 1.0f);
        assertBf16(0xC020, -2.5f);
        assertBf16(0x0000, 0.0f);
        assertBf16(0x8000, -0.0f);
        assertBf16(0x7F80, Float.POSITIVE_INFINITY);
        assertBf16(0xFF80, Float.NEGATIVE_INFINITY);
        assertBf16(0x7F80, Float.MAX_VALUE);   // above the midpoint between the largest bf16 and 2^128
        assertBf16(0x4049, (float) Math.PI);
        assertEquals(1.0f, DType.bf16ToFloat((short) 0x3F80));
        assertEquals(-2.5f, DType.bf16ToFloat((short) 0xC020));
        assertEquals(3.140625f, DType.bf16ToFloat((short) 0x4049));
    }

    @Test
    void bf16NanStaysNan() {
        for (int bits : new int[] {0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7F80FFFF}) {
            short b = DType.floatToBf16(Float.intBitsToFloat(bits));
            assertTrue(Float.isNaN(DType.bf16ToFloat(b)), Integer.toHexString(bits) + " -> " + hex(b));
            assertEquals(bits < 0, b < 0, "sign kept");
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertBf16(0x3F80, 1.0f + 0x1p-8f);              // tie, 0x3F80 is even
        assertBf16(0x3F81, Math.nextUp(1.0f + 0x1p-8f));
        assertBf16(0x3F82, 1.0f + 3 * 0x1p-8f);          // tie between 0x3F81 (odd) and 0x3F82
        // Every boundary: the midpoint between consecutive bf16 values (exact in float) goes to the even one,
        // and one float ulp either side goes to the nearer one.
        for (int b = 0; b < 0x7F7F; b++) {
            float lo = DType.bf16ToFloat((short) b);
            float hi = DType.bf16ToFloat((short) (b + 1));
            float mid = lo + (hi - lo) / 2;   // exact; (lo + hi) / 2 would overflow at the top
            int even = (b & 1) == 0 ? b : b + 1;
            assertBf16(b, lo);
            assertBf16(even, mid);
            assertBf16(b, Math.nextDown(mid));
            assertBf16(b + 1, Math.nextUp(mid));
            assertBf16(b | 0x8000, -lo);
            assertBf16(even | 0x8000, -mid);
        }
    }

    @Test
    void bf16DecodeEncodeIsIdentityOnAllPatterns() {
        for (int b = 0; b < 0x10000; b++) {
            float f = DType.bf16ToFloat((short) b);
            assertEquals(b << 16, Float.floatToRawIntBits(f));
            if (!Float.isNaN(f)) {
                assertBf16(b, f);
            }
        }
    }

    // ---- IEEE half ---------------------------------------------------------------------------------------------

    /** The textbook definition, independent of the code under test. */
    private static double halfValue(int h) {
        int sign = (h >> 15) & 1;
        int e = (h >> 10) & 0x1F;
        int m = h & 0x3FF;
        double v;
        if (e == 0) {
            v = m * Math.pow(2, -24);
        } else if (e == 31) {
            v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            v = Math.pow(2, e - 15) * (1 + m / 1024.0);
        }
        return sign == 1 ? -v : v;
    }

    @Test
    void halfDecodeMatchesTheDefinitionOnAllPatterns() {
        for (int h = 0; h < 0x10000; h++) {
            float f = DType.halfToFloat((short) h);
            double expected = halfValue(h);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), "NaN pattern");
            } else {
                if (expected != f || (h & 0x8000) != (Float.floatToRawIntBits(f) >>> 16 & 0x8000)) {
                    assertEquals(String.valueOf(expected), String.valueOf(f), "halfToFloat(" + hex(h) + ")");
                }
                assertHalf(h, f);
            }
        }
    }

    @Test
    void halfKnownValues() {
        assertHalf(0x3C00, 1.0f);
        assertHalf(0xC000, -2.0f);
        assertHalf(0x3555, 1.0f / 3);
        assertHalf(0x7BFF, 65504f);                    // largest finite
        assertHalf(0x7BFF, 65519.99f);
        assertHalf(0x7C00, 65520f);                    // tie with "65536" rounds to even = infinity
        assertHalf(0x7C00, 1e6f);
        assertHalf(0xFC00, -1e6f);
        assertHalf(0x7C00, Float.POSITIVE_INFINITY);
        assertHalf(0xFC00, Float.NEGATIVE_INFINITY);
        assertHalf(0x0000, 0.0f);
        assertHalf(0x8000, -0.0f);
        assertHalf(0x0400, 0x1p-14f);                  // smallest normal
        assertHalf(0x03FF, 1023 * 0x1p-24f);           // largest subnormal
        assertHalf(0x0001, 0x1p-24f);                  // smallest subnormal
        assertHalf(0x0000, 0x1p-25f);                  // tie with 0 goes to even 0
        assertHalf(0x0001, Math.nextUp(0x1p-25f));
        assertHalf(0x0002, 3 * 0x1p-25f);              // tie between 1 (odd) and 2
        assertHalf(0x0000, 0x1p-30f);
        assertHalf(0x0000, Float.MIN_VALUE);           // float subnormals underflow to zero
        assertHalf(0x8000, -Float.MIN_VALUE);
        assertEquals(0x1p-24f, DType.halfToFloat((short) 0x0001));
        assertEquals(-0x1p-24f, DType.halfToFloat((short) 0x8001));
        assertEquals(Float.POSITIVE_INFINITY, DType.halfToFloat((short) 0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, DType.halfToFloat((short) 0xFC00));
        assertTrue(Float.isNaN(DType.halfToFloat((short) 0x7E00)));
        assertTrue(Float.isNaN(DType.halfToFloat((short) 0x7C01)));
    }

    @Test
    void halfNanStaysNan() {
        for (int bits : new int[] {0x7FC00000, 0x7F800001, 0xFF800001, 0x7F802000}) {
            short h = DType.floatToHalf(Float.intBitsToFloat(bits));
            assertTrue(Float.isNaN(DType.halfToFloat(h)), Integer.toHexString(bits) + " -> " + hex(h));
        }
    }

    @Test
    void halfRoundsToNearestEvenAtEveryBoundary() {
        for (int h = 0; h < 0x7C00; h++) {
            float lo = DType.halfToFloat((short) h);
            float hi = h + 1 == 0x7C00 ? 65536f : DType.halfToFloat((short) (h + 1));
            float mid = (lo + hi) / 2;   // exact: halves have 11 significant bits
            int even = (h & 1) == 0 ? h : h + 1;
            assertHalf(h, lo);
            assertHalf(even, mid);
            assertHalf(h, Math.nextDown(mid));
            assertHalf(h + 1, Math.nextUp(mid));
            assertHalf(h | 0x8000, -lo);
            assertHalf(even | 0x8000, -mid);
            assertHalf((h + 1) | 0x8000, -Math.nextUp(mid));
        }
    }
}
