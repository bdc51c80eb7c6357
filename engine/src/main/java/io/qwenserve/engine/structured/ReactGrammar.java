package io.qwenserve.engine.structured;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The automaton of a {@link ToolCallFormat}. Free text is any bytes that do not contain {@code "\nAction:"} (a
 * Knuth-Morris-Pratt automaton over that word); in {@code AUTO} mode the byte that would complete the word leads
 * into the call instead:
 *
 * <pre>
 *   call = " " name_i "\nAction Input: " json(parameters_i) ["\nObservation:"]      (one branch per tool)
 *   AUTO     = text* ("\nAction:" call)?          REQUIRED = "Thought: " [^\n]{0,256} "\nAction:" call
 *   NONE     = text*                              NAMED    = "Thought: " [^\n]{0,256} "\nAction:" call(forced)
 * </pre>
 * {@code "\nObservation:"} is the stop word the service adds with tools: the automaton lets it be written, the stop
 * handling then ends the sequence.
 */
final class ReactGrammar {
    static final String ACTION = "\nAction:";
    /** Longest thought line before a forced call, in characters (a model that rambles is made to act). */
    static final int MAX_THOUGHT = 256;

    private ReactGrammar() {}

    static Grammar compile(ToolCallFormat f, int maxWhitespace) {
        Nfa nfa = new Nfa(Grammar.MAX_NFA_STATES);
        int main = nfa.newRule();
        List<ToolCallFormat.Tool> callable = f.mode() == ToolCallFormat.Mode.NAMED
                ? f.tools().stream().filter(t -> t.name().equals(f.forced())).toList() : f.tools();
        Nfa.Frag body = switch (f.mode()) {
            case AUTO -> freeText(nfa, call(nfa, callable, maxWhitespace));
            case NONE -> freeText(nfa, null);
            case REQUIRED, NAMED -> nfa.seq(nfa.literal("Thought: "),
                    nfa.repeat(() -> nfa.chars(CharSet.of('\n').negate()), 0, MAX_THOUGHT),
                    nfa.literal(ACTION), call(nfa, callable, maxWhitespace));
        };
        nfa.define(main, body);
        return Grammar.of(nfa);
    }

    private static Nfa.Frag call(Nfa nfa, List<ToolCallFormat.Tool> tools, int maxWhitespace) {
        List<Nfa.Frag> branches = new ArrayList<>();
        for (ToolCallFormat.Tool t : tools) {
            JsonNode schema;
            try {
                schema = t.parametersJson() == null ? JsonSchemaCompiler.JSON.readTree("{\"type\": \"object\"}")
                        : JsonSchemaCompiler.parse(t.parametersJson());
            } catch (StructuredOutputException e) {
                throw new StructuredOutputException("tool " + t.name() + ": " + e.getMessage(), e.keyword());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            Nfa.Frag args;
            try {
                args = JsonSchemaCompiler.fragment(nfa, schema, maxWhitespace);
            } catch (StructuredOutputException e) {
                throw new StructuredOutputException("tool " + t.name() + " parameters: " + e.getMessage(), e.keyword());
            }
            branches.add(nfa.seq(nfa.literal(" " + t.name() + "\nAction Input: "), args,
                    nfa.opt(nfa.literal("\nObservation:"))));
        }
        return nfa.alt(branches);
    }

    /** Any bytes without {@link #ACTION}; where it would be completed, {@code call} follows (if not null). */
    private static Nfa.Frag freeText(Nfa nfa, Nfa.Frag call) {
        byte[] word = ACTION.getBytes(StandardCharsets.UTF_8);
        int m = word.length;
        int[] fail = new int[m + 1];
        for (int i = 1, k = 0; i < m; i++) {
            while (k > 0 && word[i] != word[k]) {
                k = fail[k];
            }
            if (word[i] == word[k]) {
                k++;
            }
            fail[i + 1] = k;
        }
        int[] states = new int[m];
        for (int k = 0; k < m; k++) {
            states[k] = nfa.newState();
        }
        int end = nfa.newState();
        for (int k = 0; k < m; k++) {
            nfa.connect(states[k], end);
            int runStart = 0, runTarget = -2;
            for (int b = 0; b <= 256; b++) {
                int target = b == 256 ? -3 : next(word, fail, k, (byte) b);
                if (target != runTarget) {
                    if (runTarget != -2) {
                        addRun(nfa, states, call, m, k, runStart, b - 1, runTarget);
                    }
                    runStart = b;
                    runTarget = target;
                }
            }
        }
        if (call != null) {
            nfa.connect(call.end(), end);
        }
        return new Nfa.Frag(states[0], end);
    }

    private static void addRun(Nfa nfa, int[] states, Nfa.Frag call, int m, int k, int lo, int hi, int target) {
        if (target < m) {
            nfa.byteEdge(states[k], lo, hi, states[target]);
        } else if (call != null) {
            nfa.byteEdge(states[k], lo, hi, call.start());
        }
    }

    /** The matched length of the word after reading {@code b} with {@code k} bytes matched. */
    private static int next(byte[] word, int[] fail, int k, byte b) {
        while (k > 0 && word[k] != b) {
            k = fail[k];
        }
        return word[k] == b ? k + 1 : 0;
    }
}
