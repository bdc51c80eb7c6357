package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** UTF-8 byte-range sequences cover exactly the code points of their set. */
class Utf8Test {
    @Test
    void sequencesCoverExactlyTheSet() {
        List<CharSet> sets = List.of(CharSet.ALL, CharSet.DOT, RegexEmitter.JSON_PLAIN, CharSet.of(0x7F, 0x800),
                CharSet.of(0xFFFF, 0x10000), CharSet.of(0x3A5, 0x2F01A), CharSet.WORD.negate(), CharSet.SPACE);
        for (CharSet set : sets) {
            List<int[]> seqs = Utf8.sequences(set);
            // every code point of the first plane, then a sample with each range's edges
            java.util.TreeSet<Integer> cps = new java.util.TreeSet<>();
            for (int cp = 0; cp < 0x10000; cp++) {
                cps.add(cp);
            }
            for (int cp = 0x10000; cp <= CharSet.MAX; cp += 257) {
                cps.add(cp);
            }
            for (int i = 0; i < set.rangeCount(); i++) {
                for (int d = -1; d <= 1; d++) {
                    cps.add(Math.max(0, Math.min(CharSet.MAX, set.lo(i) + d)));
                    cps.add(Math.max(0, Math.min(CharSet.MAX, set.hi(i) + d)));
                }
            }
            for (int cp : cps) {
                boolean scalar = cp < 0xD800 || cp > 0xDFFF;
                boolean expected = scalar && set.contains(cp);
                boolean matched = scalar && matchesAny(seqs, Utf8.encode(cp));
                assertEquals(expected, matched, String.format("U+%04X in %s", cp, set));
            }
        }
    }

    private static boolean matchesAny(List<int[]> seqs, byte[] bytes) {
        for (int[] s : seqs) {
            if (s.length != 2 * bytes.length) {
                continue;
            }
            boolean ok = true;
            for (int k = 0; k < bytes.length && ok; k++) {
                int v = bytes[k] & 0xFF;
                ok = v >= s[2 * k] && v <= s[2 * k + 1];
            }
            if (ok) {
                return true;
            }
        }
        return false;
    }
}
