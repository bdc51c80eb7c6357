package io.qwenserve.engine.structured;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * A Thompson NFA under construction: one arena of states whose edges are epsilon moves, byte ranges or calls of a
 * rule (the pushdown part: {@code call(r)} runs rule r to completion, then continues). Fragments ({@link Frag}) have
 * one entry and one exit state and are used once; a repeated piece is built again through a {@link Supplier}.
 * Rules are fragments registered under an index; rule 0 is the whole output.
 */
final class Nfa {
    static final int EPS = -1, CALL = -2;

    /** One entry, one exit. */
    record Frag(int start, int end) {}

    private final int maxStates;
    private int states;
    private int[] head = new int[1024];
    private int edges;
    private int[] edgeLo = new int[2048], edgeHi = new int[2048], edgeTo = new int[2048], edgeNext = new int[2048];
    private int[] ruleStart = new int[8], ruleEnd = new int[8];
    private int rules;

    Nfa(int maxStates) {
        this.maxStates = maxStates;
    }

    int stateCount() {
        return states;
    }

    int newState() {
        if (states == maxStates) {
            throw new StructuredOutputException("the format needs more than " + maxStates
                    + " automaton states; make it smaller (lower maxLength/maxItems, fewer alternatives)");
        }
        if (states == head.length) {
            head = Arrays.copyOf(head, states * 2);
        }
        head[states] = -1;
        return states++;
    }

    private void edge(int from, int lo, int hi, int to) {
        if (edges == edgeLo.length) {
            int n = edges * 2;
            edgeLo = Arrays.copyOf(edgeLo, n);
            edgeHi = Arrays.copyOf(edgeHi, n);
            edgeTo = Arrays.copyOf(edgeTo, n);
            edgeNext = Arrays.copyOf(edgeNext, n);
        }
        edgeLo[edges] = lo;
        edgeHi[edges] = hi;
        edgeTo[edges] = to;
        edgeNext[edges] = head[from];
        head[from] = edges++;
    }

    /** A byte-range move between existing states (for automata built directly, like the ReAct free text). */
    void byteEdge(int from, int lo, int hi, int to) {
        edge(from, lo, hi, to);
    }

    /** An epsilon move, for shapes the combinators do not cover (loops over shared states). */
    void connect(int from, int to) {
        edge(from, EPS, EPS, to);
    }

    // ---- reading (for the determinizer) ----

    int firstEdge(int state) {
        return head[state];
    }

    int nextEdge(int e) {
        return edgeNext[e];
    }

    /** A byte, {@link #EPS} or {@link #CALL}. */
    int lo(int e) {
        return edgeLo[e];
    }

    /** The last byte of a range, or the rule of a call. */
    int hi(int e) {
        return edgeHi[e];
    }

    int to(int e) {
        return edgeTo[e];
    }

    // ---- rules ----

    /** Reserves a rule index (to be {@link #define}d later, possibly after calls to it are built). */
    int newRule() {
        if (rules == ruleStart.length) {
            ruleStart = Arrays.copyOf(ruleStart, rules * 2);
            ruleEnd = Arrays.copyOf(ruleEnd, rules * 2);
        }
        ruleStart[rules] = -1;
        return rules++;
    }

    void define(int rule, Frag body) {
        ruleStart[rule] = body.start;
        ruleEnd[rule] = body.end;
    }

    int ruleCount() {
        return rules;
    }

    int ruleStart(int rule) {
        return ruleStart[rule];
    }

    int ruleEnd(int rule) {
        return ruleEnd[rule];
    }

    // ---- fragments ----

    Frag empty() {
        int s = newState();
        return new Frag(s, s);
    }

    Frag bytes(int lo, int hi) {
        int s = newState(), e = newState();
        edge(s, lo, hi, e);
        return new Frag(s, e);
    }

    Frag literal(byte[] text) {
        int s = newState(), cur = s;
        for (byte b : text) {
            int n = newState();
            edge(cur, b & 0xFF, b & 0xFF, n);
            cur = n;
        }
        return new Frag(s, cur);
    }

    Frag literal(String text) {
        return literal(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** One character of the set, UTF-8 encoded. */
    Frag chars(CharSet set) {
        int s = newState(), e = newState();
        for (int[] seq : Utf8.sequences(set)) {
            int cur = s;
            for (int k = 0; k < seq.length; k += 2) {
                int n = k + 2 == seq.length ? e : newState();
                edge(cur, seq[k], seq[k + 1], n);
                cur = n;
            }
        }
        return new Frag(s, e);
    }

    Frag call(int rule) {
        int s = newState(), e = newState();
        edge(s, CALL, rule, e);
        return new Frag(s, e);
    }

    Frag seq(Frag... parts) {
        return seq(Arrays.asList(parts));
    }

    Frag seq(List<Frag> parts) {
        if (parts.isEmpty()) {
            return empty();
        }
        for (int i = 0; i + 1 < parts.size(); i++) {
            edge(parts.get(i).end, EPS, EPS, parts.get(i + 1).start);
        }
        return new Frag(parts.get(0).start, parts.get(parts.size() - 1).end);
    }

    Frag alt(List<Frag> options) {
        if (options.size() == 1) {
            return options.get(0);
        }
        int s = newState(), e = newState();
        for (Frag f : options) {
            edge(s, EPS, EPS, f.start);
            edge(f.end, EPS, EPS, e);
        }
        return new Frag(s, e);
    }

    Frag opt(Frag f) {
        int s = newState(), e = newState();
        edge(s, EPS, EPS, f.start);
        edge(f.end, EPS, EPS, e);
        edge(s, EPS, EPS, e);
        return new Frag(s, e);
    }

    /** Zero or more. */
    Frag star(Frag f) {
        int s = newState(), e = newState();
        edge(s, EPS, EPS, f.start);
        edge(f.end, EPS, EPS, s);
        edge(s, EPS, EPS, e);
        return new Frag(s, e);
    }

    /** {@code min} to {@code max} copies; {@code max < 0} means no upper bound. */
    Frag repeat(Supplier<Frag> f, int min, int max) {
        if (max >= 0 && max < min) {
            throw new StructuredOutputException("repetition {" + min + "," + max + "} has max < min");
        }
        Frag[] parts = new Frag[min + (max < 0 ? 1 : max - min)];
        for (int i = 0; i < min; i++) {
            parts[i] = f.get();
        }
        if (max < 0) {
            parts[min] = star(f.get());
        } else if (max > min) {
            // a chain of optional copies, each able to leave for the end: closures stay small, the DFA linear in max
            int start = newState(), end = newState(), cur = start;
            for (int i = min; i < max; i++) {
                Frag c = f.get();
                edge(cur, EPS, EPS, c.start);
                edge(cur, EPS, EPS, end);
                cur = c.end;
            }
            edge(cur, EPS, EPS, end);
            parts[min] = new Frag(start, end);
            return seq(Arrays.asList(parts).subList(0, min + 1));
        }
        return seq(Arrays.asList(parts).subList(0, parts.length));
    }
}
