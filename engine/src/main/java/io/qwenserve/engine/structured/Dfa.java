package io.qwenserve.engine.structured;

/**
 * One rule of a grammar as a deterministic automaton over bytes, plus call edges into other rules. State 0 is the
 * start. Byte transitions are stored as sorted ranges per state (compact for the long unrolled automata of
 * {@code maxLength}); the matcher memoises them per runtime state, so lookup speed here matters little.
 */
final class Dfa {
    private final int[] rangeOffsets;
    /** lo, hi, target triples, sorted by lo, per state. */
    private final int[] ranges;
    private final int[] callOffsets;
    /** rule, return-state pairs per state. */
    private final int[] calls;
    private final boolean[] accept;

    Dfa(int[] rangeOffsets, int[] ranges, int[] callOffsets, int[] calls, boolean[] accept) {
        this.rangeOffsets = rangeOffsets;
        this.ranges = ranges;
        this.callOffsets = callOffsets;
        this.calls = calls;
        this.accept = accept;
    }

    int stateCount() {
        return accept.length;
    }

    boolean accepting(int state) {
        return accept[state];
    }

    boolean hasByteMoves(int state) {
        return rangeOffsets[state + 1] > rangeOffsets[state];
    }

    /** The state after byte {@code b}, or -1. */
    int next(int state, int b) {
        int lo = rangeOffsets[state] / 3, hi = rangeOffsets[state + 1] / 3 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int base = 3 * mid;
            if (b < ranges[base]) {
                hi = mid - 1;
            } else if (b > ranges[base + 1]) {
                lo = mid + 1;
            } else {
                return ranges[base + 2];
            }
        }
        return -1;
    }

    int callCount(int state) {
        return (callOffsets[state + 1] - callOffsets[state]) / 2;
    }

    int callRule(int state, int i) {
        return calls[callOffsets[state] + 2 * i];
    }

    int callReturn(int state, int i) {
        return calls[callOffsets[state] + 2 * i + 1];
    }

    /** Approximate heap size. */
    long bytes() {
        return 4L * (rangeOffsets.length + ranges.length + callOffsets.length + calls.length) + accept.length + 80;
    }
}
