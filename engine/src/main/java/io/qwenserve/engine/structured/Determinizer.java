package io.qwenserve.engine.structured;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Subset construction of one rule of an {@link Nfa} into a {@link Dfa}. Calls are symbols like bytes here: a DFA
 * state has at most one call edge per called rule. Byte edges are split into elementary intervals, so the cost
 * follows the number of ranges rather than 256 per state.
 */
final class Determinizer {
    private final Nfa nfa;
    private final int end;
    private final int maxStates;
    private final Map<Key, Integer> idBySet = new HashMap<>();
    private final Map<Key, Integer> idByTargets = new HashMap<>();
    private final List<int[]> sets = new ArrayList<>();
    private final ArrayDeque<Integer> work = new ArrayDeque<>();
    private final int[] mark;
    private int stamp;

    private Determinizer(Nfa nfa, int rule, int maxStates) {
        this.nfa = nfa;
        this.end = nfa.ruleEnd(rule);
        this.maxStates = maxStates;
        this.mark = new int[nfa.stateCount()];
    }

    static Dfa determinize(Nfa nfa, int rule, int maxStates) {
        return new Determinizer(nfa, rule, maxStates).run(nfa.ruleStart(rule));
    }

    private record Key(int[] states) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(states, k.states);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(states);
        }
    }

    private Dfa run(int start) {
        stateFor(new int[] {start});
        IntBuf rangeOffsets = new IntBuf(), ranges = new IntBuf(), callOffsets = new IntBuf(), calls = new IntBuf();
        List<Boolean> accept = new ArrayList<>();
        for (int d = 0; d < sets.size(); d++) {
            int[] set = sets.get(d);
            rangeOffsets.add(ranges.size());
            callOffsets.add(calls.size());
            accept.add(Arrays.binarySearch(set, end) >= 0);
            IntBuf lo = new IntBuf(), hi = new IntBuf(), to = new IntBuf(), callRule = new IntBuf(), callTo = new IntBuf();
            for (int s : set) {
                for (int e = nfa.firstEdge(s); e >= 0; e = nfa.nextEdge(e)) {
                    int l = nfa.lo(e);
                    if (l >= 0) {
                        lo.add(l);
                        hi.add(nfa.hi(e));
                        to.add(nfa.to(e));
                    } else if (l == Nfa.CALL) {
                        callRule.add(nfa.hi(e));
                        callTo.add(nfa.to(e));
                    }
                }
            }
            byteMoves(lo, hi, to, ranges);
            callMoves(callRule, callTo, calls);
        }
        rangeOffsets.add(ranges.size());
        callOffsets.add(calls.size());
        boolean[] acc = new boolean[accept.size()];
        for (int i = 0; i < acc.length; i++) {
            acc[i] = accept.get(i);
        }
        return new Dfa(rangeOffsets.toArray(), ranges.toArray(), callOffsets.toArray(), calls.toArray(), acc);
    }

    private void byteMoves(IntBuf lo, IntBuf hi, IntBuf to, IntBuf out) {
        if (lo.size() == 0) {
            return;
        }
        int[] points = new int[2 * lo.size()];
        for (int i = 0; i < lo.size(); i++) {
            points[2 * i] = lo.get(i);
            points[2 * i + 1] = hi.get(i) + 1;
        }
        Arrays.sort(points);
        int prevTarget = -1, prevHi = -2;
        IntBuf targets = new IntBuf();
        for (int p = 0; p + 1 < points.length; p++) {
            int a = points[p], b = points[p + 1] - 1;
            if (a > b) {
                continue;
            }
            targets.clear();
            for (int i = 0; i < lo.size(); i++) {
                if (lo.get(i) <= a && hi.get(i) >= b) {
                    targets.add(to.get(i));
                }
            }
            if (targets.size() == 0) {
                continue;
            }
            int id = targetState(targets.toArray());
            if (id == prevTarget && a == prevHi + 1) {
                out.set(out.size() - 2, b);
            } else {
                out.add(a);
                out.add(b);
                out.add(id);
            }
            prevTarget = id;
            prevHi = b;
        }
    }

    private void callMoves(IntBuf rule, IntBuf to, IntBuf out) {
        boolean[] done = new boolean[rule.size()];
        for (int i = 0; i < rule.size(); i++) {
            if (done[i]) {
                continue;
            }
            IntBuf targets = new IntBuf();
            for (int j = i; j < rule.size(); j++) {
                if (rule.get(j) == rule.get(i)) {
                    targets.add(to.get(j));
                    done[j] = true;
                }
            }
            out.add(rule.get(i));
            out.add(targetState(targets.toArray()));
        }
    }

    private int targetState(int[] targets) {
        Arrays.sort(targets);
        Key key = new Key(targets);
        Integer id = idByTargets.get(key);
        if (id == null) {
            id = stateFor(targets);
            idByTargets.put(key, id);
        }
        return id;
    }

    /** The DFA state of the epsilon closure of {@code seeds}, made if new. */
    private int stateFor(int[] seeds) {
        int[] closure = closure(seeds);
        Key key = new Key(closure);
        Integer id = idBySet.get(key);
        if (id != null) {
            return id;
        }
        if (sets.size() == maxStates) {
            throw new StructuredOutputException("the format needs more than " + maxStates
                    + " deterministic automaton states; make it smaller (lower maxLength/maxItems, fewer alternatives)");
        }
        id = sets.size();
        sets.add(closure);
        idBySet.put(key, id);
        return id;
    }

    private int[] closure(int[] seeds) {
        stamp++;
        IntBuf out = new IntBuf();
        for (int s : seeds) {
            if (mark[s] != stamp) {
                mark[s] = stamp;
                work.push(s);
            }
        }
        while (!work.isEmpty()) {
            int s = work.pop();
            out.add(s);
            for (int e = nfa.firstEdge(s); e >= 0; e = nfa.nextEdge(e)) {
                if (nfa.lo(e) == Nfa.EPS && mark[nfa.to(e)] != stamp) {
                    mark[nfa.to(e)] = stamp;
                    work.push(nfa.to(e));
                }
            }
        }
        int[] a = out.toArray();
        Arrays.sort(a);
        return a;
    }

    /** A growable int array. */
    static final class IntBuf {
        private int[] a = new int[16];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int get(int i) {
            return a[i];
        }

        void set(int i, int v) {
            a[i] = v;
        }

        int size() {
            return n;
        }

        void clear() {
            n = 0;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
