package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * Code point ranges as UTF-8 byte-range sequences: each sequence is 1-4 byte ranges whose cross product is exactly
 * the encodings of a sub-range (the construction RE2 and Rust's regex use). Surrogates are never produced.
 */
final class Utf8 {
    private static final int[] MAX_BY_LENGTH = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};

    private Utf8() {}

    /** Byte-range sequences: each element is {lo0, hi0, lo1, hi1, ...} for one sequence. */
    static List<int[]> sequences(CharSet set) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < set.rangeCount(); i++) {
            split(set.lo(i), set.hi(i), out);
        }
        return out;
    }

    private static void split(int lo, int hi, List<int[]> out) {
        if (lo > hi) {
            return;
        }
        // one encoded length per range
        for (int max : MAX_BY_LENGTH) {
            if (lo <= max && hi > max) {
                split(lo, max, out);
                split(max + 1, hi, out);
                return;
            }
        }
        if (hi <= 0x7F) {
            out.add(new int[] {lo, hi});
            return;
        }
        // cut where the continuation bytes would not cover their full 0x80..0xBF range
        for (int i = 1; i < 4; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo), b = encode(hi);
        int[] seq = new int[2 * a.length];
        for (int k = 0; k < a.length; k++) {
            seq[2 * k] = a[k] & 0xFF;
            seq[2 * k + 1] = b[k] & 0xFF;
        }
        out.add(seq);
    }

    static byte[] encode(int cp) {
        return new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
