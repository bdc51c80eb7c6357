package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable set of Unicode scalar values (code points 0..0x10FFFF without the surrogates U+D800..U+DFFF) as
 * sorted, disjoint, non-adjacent closed ranges. Regex character classes and JSON string characters are built from
 * these before they become UTF-8 byte automata ({@link Utf8}).
 */
final class CharSet {
    static final int MAX = 0x10FFFF;
    static final CharSet EMPTY = new CharSet(new int[0]);
    static final CharSet ALL = of(0, MAX);
    static final CharSet DIGIT = of('0', '9');
    static final CharSet WORD = of('a', 'z').union(of('A', 'Z')).union(DIGIT).union(of('_'));
    /**
     * {@code \s}: ASCII whitespace, and {@code \S}: anything but Unicode whitespace. Regex engines disagree on
     * both (ECMAScript's {@code \s} is Unicode, Java's is ASCII); taking the narrower meaning of each keeps every
     * output a match for either.
     */
    static final CharSet SPACE = ofChars("\t\n\u000B\f\r ");
    static final CharSet NOT_SPACE = ofChars("\t\n\u000B\f\r \u0085\u00A0\u1680\u2028\u2029\u202F\u205F\u3000\uFEFF")
            .union(of(0x2000, 0x200A)).negate();
    /** {@code .}: anything but a line terminator of ECMAScript or Java. */
    static final CharSet DOT = ofChars("\n\r\u0085\u2028\u2029").negate();

    /** lo0, hi0, lo1, hi1, ... with surrogates removed. */
    private final int[] ranges;

    private CharSet(int[] ranges) {
        this.ranges = ranges;
    }

    static CharSet of(int cp) {
        return of(cp, cp);
    }

    static CharSet of(int lo, int hi) {
        if (lo < 0 || hi > MAX || lo > hi) {
            throw new IllegalArgumentException("bad code point range " + lo + ".." + hi);
        }
        return normalize(new int[] {lo, hi});
    }

    static CharSet ofChars(String chars) {
        CharSet s = EMPTY;
        for (int i = 0; i < chars.length(); ) {
            int cp = chars.codePointAt(i);
            s = s.union(of(cp));
            i += Character.charCount(cp);
        }
        return s;
    }

    /** Sorts, merges and drops the surrogate block. */
    private static CharSet normalize(int[] raw) {
        int n = raw.length / 2;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(raw[2 * a], raw[2 * b]));
        List<int[]> merged = new ArrayList<>();
        for (int k : order) {
            int lo = raw[2 * k], hi = raw[2 * k + 1];
            int[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && lo <= last[1] + 1) {
                last[1] = Math.max(last[1], hi);
            } else {
                merged.add(new int[] {lo, hi});
            }
        }
        List<Integer> out = new ArrayList<>();
        for (int[] r : merged) {
            // cut out U+D800..U+DFFF: not scalar values, never valid in UTF-8
            if (r[1] < 0xD800 || r[0] > 0xDFFF) {
                out.add(r[0]);
                out.add(r[1]);
            } else {
                if (r[0] < 0xD800) {
                    out.add(r[0]);
                    out.add(0xD7FF);
                }
                if (r[1] > 0xDFFF) {
                    out.add(0xE000);
                    out.add(r[1]);
                }
            }
        }
        return new CharSet(out.stream().mapToInt(Integer::intValue).toArray());
    }

    CharSet union(CharSet o) {
        int[] all = Arrays.copyOf(ranges, ranges.length + o.ranges.length);
        System.arraycopy(o.ranges, 0, all, ranges.length, o.ranges.length);
        return normalize(all);
    }

    CharSet negate() {
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out.add(next);
                out.add(ranges[i] - 1);
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= MAX) {
            out.add(next);
            out.add(MAX);
        }
        return normalize(out.stream().mapToInt(Integer::intValue).toArray());
    }

    CharSet minus(CharSet o) {
        return negate().union(o).negate();
    }

    CharSet intersect(CharSet o) {
        return negate().union(o.negate()).negate();
    }

    boolean contains(int cp) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (cp >= ranges[i] && cp <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    boolean isEmpty() {
        return ranges.length == 0;
    }

    int rangeCount() {
        return ranges.length / 2;
    }

    int lo(int i) {
        return ranges[2 * i];
    }

    int hi(int i) {
        return ranges[2 * i + 1];
    }

    /** The only member, or -1 if there are none or several. */
    int single() {
        return ranges.length == 2 && ranges[0] == ranges[1] ? ranges[0] : -1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharSet c && Arrays.equals(ranges, c.ranges);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ranges);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ranges.length; i += 2) {
            sb.append(String.format("%X-%X ", ranges[i], ranges[i + 1]));
        }
        return sb.append(']').toString();
    }
}
