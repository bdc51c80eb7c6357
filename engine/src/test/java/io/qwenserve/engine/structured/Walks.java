package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Random walks through a matcher's masks: every step picks uniformly among the allowed tokens. After
 * {@link #FINISH_AFTER} tokens a walk turns to finishing: it picks among the allowed single characters that close
 * strings and containers or write short scalars (unbounded strings would otherwise run for thousands of tokens,
 * since few of the tokens allowed inside a string end it).
 */
final class Walks {
    static final QwenTokenizer TOKENIZER = QwenTokenizer.defaultQwen();
    static final StructuredOutputs OUTPUTS = new StructuredOutputs(TOKENIZER);
    static final Set<Integer> END_IDS = Set.of(QwenTokenizer.ENDOFTEXT, QwenTokenizer.IM_END);

    static final int FINISH_AFTER = 400;
    private static final String FINISHERS = "\"}]0123456789aeflnrstu:\n";

    private Walks() {}

    /** A walk's output: the text, its token ids, and whether it ended with an end id (complete). */
    record Walk(String text, byte[] bytes, List<Integer> ids, boolean complete) {}

    static Walk walk(OutputConstraint format, Random rnd, int maxTokens) {
        return walk(OUTPUTS.matcher(format, END_IDS), rnd, maxTokens, 0.5);
    }

    /** @param endProbability chance of ending whenever the output is complete and could also go on */
    static Walk walk(GrammarMatcher m, Random rnd, int maxTokens, double endProbability) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Integer> ids = new ArrayList<>();
        for (int step = 0; step < maxTokens; step++) {
            TokenMask mask = m.mask();
            if (mask.count() == 0 && !mask.endAllowed()) {
                fail("dead end after " + new String(out.toByteArray(), StandardCharsets.UTF_8));
            }
            if (mask.endAllowed() && (mask.count() == 0 || rnd.nextDouble() < endProbability)) {
                assertTrue(m.accept(QwenTokenizer.IM_END));
                return new Walk(out.toString(StandardCharsets.UTF_8), out.toByteArray(), ids, true);
            }
            int id = step < FINISH_AFTER ? mask.allowed(rnd.nextInt(mask.count())) : finisher(mask, rnd);
            assertTrue(m.allows(id), "mask allows " + id + " but the matcher does not");
            assertTrue(m.accept(id));
            ids.add(id);
            out.writeBytes(TOKENIZER.tokenBytes(id));
        }
        return new Walk(out.toString(StandardCharsets.UTF_8), out.toByteArray(), ids, false);
    }

    private static int finisher(TokenMask mask, Random rnd) {
        List<Integer> ids = new ArrayList<>();
        for (char c : FINISHERS.toCharArray()) {
            int id = TOKENIZER.encodeOrdinary(String.valueOf(c))[0];
            if (mask.allows(id)) {
                ids.add(id);
            }
        }
        return ids.isEmpty() ? mask.allowed(rnd.nextInt(mask.count())) : ids.get(rnd.nextInt(ids.size()));
    }
}
