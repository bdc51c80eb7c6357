package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Tokens that cut UTF-8 sequences, escapes and numbers, or span several grammar symbols. */
class TokenBoundaryTest {
    private static final QwenTokenizer TOK = Walks.TOKENIZER;
    private static final int[] BYTE_TOKEN = new int[256];

    static {
        for (int id = 0; id < 256; id++) {
            BYTE_TOKEN[TOK.tokenBytes(id)[0] & 0xFF] = id;
        }
    }

    private static GrammarMatcher matcher(String schema) {
        return Walks.OUTPUTS.matcher(ResponseFormat.jsonSchema(schema), Walks.END_IDS);
    }

    private static int b(int value) {
        return BYTE_TOKEN[value];
    }

    private static void acceptBytes(GrammarMatcher m, String text) {
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            assertTrue(m.mask().allows(b(x & 0xFF)), "mask refuses byte " + (x & 0xFF) + " of " + text);
            assertTrue(m.accept(b(x & 0xFF)), "matcher refuses byte " + (x & 0xFF) + " of " + text);
        }
    }

    /** A token whose bytes are exactly {@code text}, if the vocabulary has one. */
    private static int token(String text) {
        int[] ids = TOK.encodeOrdinary(text);
        assertEquals(1, ids.length, "expected one token for " + text);
        return ids[0];
    }

    @Test
    void multiByteCharacterSplitAcrossSingleByteTokens() {
        GrammarMatcher m = matcher("{\"type\": \"string\"}");
        acceptBytes(m, "\"");
        byte[] zhong = "中".getBytes(StandardCharsets.UTF_8); // E4 B8 AD
        assertTrue(m.accept(b(zhong[0] & 0xFF)));
        TokenMask mid = m.mask();
        assertFalse(mid.allows(b('"')), "a string cannot close inside a UTF-8 sequence");
        assertFalse(mid.allows(b('A')));
        assertTrue(mid.allows(b(zhong[1] & 0xFF)));
        assertFalse(mid.endAllowed());
        assertTrue(m.accept(b(zhong[1] & 0xFF)));
        assertTrue(m.accept(b(zhong[2] & 0xFF)));
        acceptBytes(m, "\"");
        assertTrue(m.isComplete());
        assertTrue(m.mustEnd());
    }

    @Test
    void invalidUtf8IsNeverAllowed() {
        GrammarMatcher m = matcher("{\"type\": \"string\"}");
        acceptBytes(m, "\"");
        TokenMask mask = m.mask();
        for (int bad : new int[] {0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF}) {
            assertFalse(mask.allows(b(bad)), "byte " + bad);
        }
        assertTrue(m.accept(b(0xED)));
        assertFalse(m.mask().allows(b(0xA0)), "ED A0 starts a surrogate");
        assertTrue(m.mask().allows(b(0x9F)));
    }

    @Test
    void escapesAcrossTokens() {
        GrammarMatcher m = matcher("{\"type\": \"string\", \"maxLength\": 3}");
        acceptBytes(m, "\"\\");
        TokenMask afterBackslash = m.mask();
        assertFalse(afterBackslash.allows(b('x')), "\\x is not a JSON escape");
        assertTrue(afterBackslash.allows(b('n')));
        assertTrue(afterBackslash.allows(b('u')));
        acceptBytes(m, "u4e2d"); // one character
        acceptBytes(m, "\\\"\\u");
        acceptBytes(m, "D");
        assertFalse(m.mask().allows(b('8')), "\\uD8xx is a lone surrogate");
        assertTrue(m.mask().allows(b('7')));
        acceptBytes(m, "7ff");
        assertFalse(m.mask().allows(b('a')), "maxLength 3 reached");
        acceptBytes(m, "\"");
        assertTrue(m.isComplete());
    }

    @Test
    void numbersSplitAcrossTokens() {
        GrammarMatcher m = matcher("{\"type\": \"integer\", \"minimum\": 0, \"maximum\": 1234}");
        acceptBytes(m, "12");
        assertTrue(m.isComplete());
        assertTrue(m.mask().allows(b('3')));
        acceptBytes(m, "3");
        assertFalse(m.mask().allows(b('5')), "1235 > 1234");
        assertTrue(m.mask().allows(b('4')));
        assertFalse(matcher("{\"type\": \"integer\"}").mask().allows(b('+')));
        GrammarMatcher leadingZero = matcher("{\"type\": \"integer\"}");
        acceptBytes(leadingZero, "0");
        assertFalse(leadingZero.mask().allows(b('1')), "no leading zeros");

        GrammarMatcher n = matcher("{\"type\": \"number\"}");
        acceptBytes(n, "-0.5");
        assertTrue(n.isComplete());
        acceptBytes(n, "e+");
        assertFalse(n.isComplete(), "an exponent needs digits");
        acceptBytes(n, "12");
        assertTrue(n.isComplete());
        assertFalse(n.mask().allows(b('3')), "exponents have at most two digits");
    }

    @Test
    void multiCharacterTokensSpanGrammarSymbols() {
        String schema = "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"maxLength\": 4}, "
                + "\"b\": {\"type\": \"integer\"}}, \"required\": [\"a\", \"b\"], \"additionalProperties\": false}";
        GrammarMatcher m = matcher(schema);
        assertFalse(m.mask().endAllowed());
        acceptBytes(m, "{\"a\":\"x");
        int quoteComma = token("\",");
        assertTrue(m.mask().allows(quoteComma), "a token may close the string and write the separator");
        assertTrue(m.accept(quoteComma));
        assertFalse(m.mask().allows(token("\"}")));
        acceptBytes(m, "\"b\":7");
        assertFalse(m.isComplete());
        assertTrue(m.accept(b('}')));
        assertTrue(m.isComplete());
        assertTrue(m.mustEnd());
        TokenMask done = m.mask();
        assertEquals(0, done.count());
        assertTrue(done.endAllowed());
        assertFalse(m.allows(QwenTokenizer.IM_START), "special tokens are never allowed");
        assertTrue(m.allows(QwenTokenizer.IM_END));
        assertTrue(m.accept(QwenTokenizer.IM_END));
        assertTrue(m.ended());
    }

    @Test
    void endOnlyWhereComplete() {
        GrammarMatcher m = matcher("{\"type\": \"array\", \"items\": {\"type\": \"boolean\"}, \"minItems\": 1}");
        assertFalse(m.allows(QwenTokenizer.IM_END));
        acceptBytes(m, "[");
        assertFalse(m.mask().allows(b(']')), "minItems 1");
        acceptBytes(m, "true");
        assertFalse(m.mask().endAllowed());
        acceptBytes(m, "]");
        assertTrue(m.mask().endAllowed());
    }

    @Test
    void whitespaceIsBounded() {
        GrammarMatcher m = matcher("{\"type\": \"object\"}");
        acceptBytes(m, "{");
        for (int i = 0; i < StructuredOutputs.Options.DEFAULT.maxWhitespace(); i++) {
            assertTrue(m.accept(b(' ')), "space " + i);
        }
        assertFalse(m.mask().allows(b(' ')));
        assertFalse(m.mask().allows(b('\n')));
        assertTrue(m.mask().allows(b('}')));
    }

    @Test
    void rollbackAndReplay() {
        GrammarMatcher m = matcher("{\"enum\": [\"alpha\", \"beta\"]}");
        int[] ids = TOK.encodeOrdinary("\"beta\"");
        for (int id : ids) {
            assertTrue(m.accept(id));
        }
        assertTrue(m.isComplete());
        m.rollback(ids.length);
        assertEquals(0, m.tokenCount());
        assertFalse(m.isComplete());
        assertTrue(m.replay(ids));
        assertTrue(m.isComplete());
        assertFalse(m.replay(TOK.encodeOrdinary("\"gamma\"")), "refused at the first wrong token");
    }

    @Test
    void masksAreSharedAcrossMatchersOfOneFormat() {
        String schema = "{\"type\": \"object\", \"properties\": {\"shared\": {\"type\": \"boolean\"}}, \"required\": [\"shared\"]}";
        TokenMask first = matcher(schema).mask();
        TokenMask again = matcher(" " + schema + "\n").mask();
        assertTrue(first == again, "the same cached mask (formatting differences share one compiled format)");
    }
}
