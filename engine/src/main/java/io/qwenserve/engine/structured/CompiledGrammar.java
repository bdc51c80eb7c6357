package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A format compiled for one vocabulary: the grammar, the vocabulary trie, the interned run-time states and the
 * shared mask cache. Immutable from the outside and thread-safe; one instance serves every request of its format.
 *
 * <p>A state is a set of stacks ({@link MatchState}). Reading a byte moves each top frame along its DFA, then
 * closes the result: a frame at a call edge pushes the called rule's start (up to {@code maxDepth} nested calls:
 * deeper recursion is not offered), and a frame in an accepting state pops to its parent's return state. An
 * accepting state with an empty stack below it means the output may end.
 */
public final class CompiledGrammar {
    /**
     * Past this many interned states the table is cleared (states stay valid and masks stay cached, keyed by value;
     * only sharing of transition memos is lost). Bounds a format's run-time heap to about 25 MB.
     */
    private static final int MAX_INTERNED = 20_000;

    private final Grammar grammar;
    private final TokenTrie trie;
    private final MaskCache masks;
    private final int maxDepth;
    private final String description;
    private final ConcurrentHashMap<MatchState, MatchState> interned = new ConcurrentHashMap<>();
    private final MatchState start;
    private final long compileNanos;

    CompiledGrammar(Grammar grammar, TokenTrie trie, MaskCache masks, int maxDepth, String description, long compileNanos) {
        this.grammar = grammar;
        this.trie = trie;
        this.masks = masks;
        this.maxDepth = maxDepth;
        this.description = description;
        this.compileNanos = compileNanos;
        Set<Frame> frames = new LinkedHashSet<>();
        boolean[] accept = new boolean[1];
        close(new Frame(0, 0, null), frames, accept);
        this.start = intern(frames, accept[0]);
    }

    MatchState start() {
        return start;
    }

    /** The state after byte {@code b} ({@link MatchState#DEAD} if none), memoised. */
    MatchState advance(MatchState s, int b) {
        MatchState n = s.cached(b);
        if (n != null) {
            return n;
        }
        Set<Frame> frames = new LinkedHashSet<>();
        boolean[] accept = new boolean[1];
        for (Frame f : s.frames) {
            int t = grammar.rule(f.rule).next(f.state, b);
            if (t >= 0) {
                close(new Frame(f.rule, t, f.parent), frames, accept);
            }
        }
        n = frames.isEmpty() && !accept[0] ? MatchState.DEAD : intern(frames, accept[0]);
        s.cache(b, n);
        return n;
    }

    /** The state after all of {@code bytes}, or {@link MatchState#DEAD}. */
    MatchState advance(MatchState s, byte[] bytes) {
        for (byte b : bytes) {
            if (!s.canReadByte()) {
                return MatchState.DEAD;
            }
            s = advance(s, b & 0xFF);
            if (s == MatchState.DEAD) {
                return s;
            }
        }
        return s;
    }

    private void close(Frame f, Set<Frame> out, boolean[] accept) {
        if (!out.add(f)) {
            return;
        }
        Dfa d = grammar.rule(f.rule);
        for (int i = 0; i < d.callCount(f.state); i++) {
            if (f.depth < maxDepth) {
                Frame ret = new Frame(f.rule, d.callReturn(f.state, i), f.parent);
                close(new Frame(d.callRule(f.state, i), 0, ret), out, accept);
            }
        }
        if (d.accepting(f.state)) {
            if (f.parent == null) {
                accept[0] = true;
            } else {
                close(f.parent, out, accept);
            }
        }
    }

    private MatchState intern(Set<Frame> frames, boolean accepting) {
        List<Frame> reading = new ArrayList<>(frames.size());
        for (Frame f : frames) {
            if (grammar.rule(f.rule).hasByteMoves(f.state)) {
                reading.add(f);
            }
        }
        MatchState s = new MatchState(reading.toArray(new Frame[0]), accepting);
        if (s.isDead()) {
            return MatchState.DEAD;
        }
        if (interned.size() > MAX_INTERNED) {
            interned.clear();
        }
        MatchState prior = interned.putIfAbsent(s, s);
        return prior != null ? prior : s;
    }

    /** The mask of a state, from the shared cache or computed by walking the vocabulary trie. */
    TokenMask mask(MatchState s) {
        return masks.get(this, s, () -> computeMask(s));
    }

    private TokenMask computeMask(MatchState s) {
        long[] bits = new long[(trie.vocabSize + 63) >>> 6];
        int count = 0;
        MatchState[] path = new MatchState[trie.maxDepth + 1];
        path[0] = s;
        if (s.canReadByte()) {
            for (int i = 1; i < trie.nodes; ) {
                MatchState from = path[trie.depth[i] - 1];
                MatchState to = from.canReadByte() ? advance(from, trie.nodeByte[i] & 0xFF) : MatchState.DEAD;
                if (to == MatchState.DEAD) {
                    i = trie.end[i];
                    continue;
                }
                path[trie.depth[i]] = to;
                int id = trie.token[i];
                if (id >= 0) {
                    bits[id >>> 6] |= 1L << id;
                    count++;
                }
                i++;
            }
        }
        return TokenMask.of(trie.vocabSize, bits, count, s.accepting);
    }

    /** Number of regular token ids (the mask width). */
    public int vocabSize() {
        return trie.vocabSize;
    }

    /** DFA states over all rules. */
    public int automatonStates() {
        return grammar.stateCount();
    }

    public int rules() {
        return grammar.ruleCount();
    }

    /** Heap of the automaton plus the interned run-time states and their transition memos (approximate). */
    public long automatonBytes() {
        long n = grammar.bytes();
        for (MatchState s : interned.keySet()) {
            n += 48 + 8L * s.frames.length + s.memoBytes();
        }
        return n;
    }

    public int internedStates() {
        return interned.size();
    }

    public long compileNanos() {
        return compileNanos;
    }

    @Override
    public String toString() {
        return description;
    }
}
