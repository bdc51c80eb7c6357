package io.qwenserve.engine.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * A compiled format: rules as byte DFAs with call edges (a recursive transition network, i.e. a pushdown
 * automaton). Rule 0 is the whole output; other rules exist only where a format is recursive (any JSON value,
 * recursive {@code $ref}), everything else is inlined into rule 0 so that it determinizes as one automaton.
 */
final class Grammar {
    /** Limits of the automata built for one format. */
    static final int MAX_NFA_STATES = 400_000, MAX_DFA_STATES = 200_000;

    private final Dfa[] rules;

    private Grammar(Dfa[] rules) {
        this.rules = rules;
    }

    /** Determinizes every rule of {@code nfa} and refuses left recursion (a rule calling itself before any byte). */
    static Grammar of(Nfa nfa) {
        Dfa[] rules = new Dfa[nfa.ruleCount()];
        int budget = MAX_DFA_STATES;
        for (int r = 0; r < rules.length; r++) {
            if (nfa.ruleStart(r) < 0) {
                throw new IllegalStateException("rule " + r + " was never defined");
            }
            rules[r] = Determinizer.determinize(nfa, r, budget);
            budget -= rules[r].stateCount();
        }
        Grammar g = new Grammar(rules);
        g.checkNoLeftRecursion();
        return g;
    }

    Dfa rule(int r) {
        return rules[r];
    }

    int ruleCount() {
        return rules.length;
    }

    int stateCount() {
        int n = 0;
        for (Dfa d : rules) {
            n += d.stateCount();
        }
        return n;
    }

    long bytes() {
        long n = 0;
        for (Dfa d : rules) {
            n += d.bytes();
        }
        return n;
    }

    private void checkNoLeftRecursion() {
        int n = rules.length;
        List<List<Integer>> leftCalls = new ArrayList<>();
        for (Dfa d : rules) {
            List<Integer> callees = new ArrayList<>();
            for (int i = 0; i < d.callCount(0); i++) {
                callees.add(d.callRule(0, i));
            }
            leftCalls.add(callees);
        }
        int[] color = new int[n];
        for (int r = 0; r < n; r++) {
            if (color[r] == 0 && cycleFrom(r, leftCalls, color)) {
                throw new StructuredOutputException("the schema recurses (through $ref) without writing anything first", "$ref");
            }
        }
    }

    private static boolean cycleFrom(int r, List<List<Integer>> edges, int[] color) {
        color[r] = 1;
        for (int c : edges.get(r)) {
            if (color[c] == 1 || (color[c] == 0 && cycleFrom(c, edges, color))) {
                return true;
            }
        }
        color[r] = 2;
        return false;
    }
}
