package io.qwenserve.engine.structured;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Where a matcher stands after some bytes: the set of stacks still alive (more than one where the grammar is
 * ambiguous so far, e.g. two {@code anyOf} branches with a common start), each top frame able to read a byte, and
 * whether the output may end here. Interned per grammar, and memoising its byte transitions, so that walking the
 * vocabulary trie costs one array read per trie node once the states are known.
 */
final class MatchState {
    /** The empty set: no continuation. */
    static final MatchState DEAD = new MatchState(new Frame[0], false);
    private static final Comparator<Frame> ORDER = Comparator.comparingInt(Frame::hashCode)
            .thenComparingInt(f -> f.rule).thenComparingInt(f -> f.state).thenComparingInt(f -> f.depth);

    final Frame[] frames;
    final boolean accepting;
    private final int hash;
    /** Transitions by byte, filled on demand (benign races: entries are interned, immutable states). */
    private MatchState[] next;

    MatchState(Frame[] frames, boolean accepting) {
        Arrays.sort(frames, ORDER);
        this.frames = frames;
        this.accepting = accepting;
        this.hash = 31 * Arrays.hashCode(frames) + (accepting ? 1 : 0);
    }

    boolean isDead() {
        return frames.length == 0 && !accepting;
    }

    /** No byte can follow (the output can only end, or nothing at all). */
    boolean canReadByte() {
        return frames.length > 0;
    }

    MatchState cached(int b) {
        MatchState[] n = next;
        return n == null ? null : n[b];
    }

    void cache(int b, MatchState s) {
        MatchState[] n = next;
        if (n == null) {
            n = new MatchState[256];
            next = n;
        }
        n[b] = s;
    }

    /** Heap held by the memo table. */
    long memoBytes() {
        return next == null ? 0 : 16 + 4L * 256;
    }

    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof MatchState m && m.hash == hash && m.accepting == accepting
                && Arrays.equals(frames, m.frames);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
