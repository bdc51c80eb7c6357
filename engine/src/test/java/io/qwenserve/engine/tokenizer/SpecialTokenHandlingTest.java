package io.qwenserve.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** allowed / disallowed special tokens, the v1 special table and decoding errors (reference §5.4). */
class SpecialTokenHandlingTest {
    private static final QwenTokenizer TOK = QwenTokenizer.defaultQwen();

    @Test
    void v1SpecialTable() {
        assertEquals(208, TOK.specialTokens().size());
        assertEquals(151851, TOK.vocabSize());
        assertEquals(OptionalInt.of(151643), TOK.specialId("<|endoftext|>"));
        assertEquals(OptionalInt.of(151644), TOK.specialId("<|im_start|>"));
        assertEquals(OptionalInt.of(151645), TOK.specialId("<|im_end|>"));
        assertEquals(OptionalInt.of(151646), TOK.specialId("<|extra_0|>"));
        assertEquals(OptionalInt.of(151850), TOK.specialId("<|extra_204|>"));
        assertEquals(OptionalInt.empty(), TOK.specialId("<|extra_205|>"));
        assertEquals(151643, TOK.specialTokens().values().iterator().next());
        assertTrue(TOK.isSpecial(151643) && TOK.isSpecial(151850));
        assertFalse(TOK.isSpecial(151642) || TOK.isSpecial(151851) || TOK.isSpecial(-1));
    }

    @Test
    void specialsSplitTheTextAndPartsAreEncodedSeparately() {
        // "a<|im_end|>b": the regex never sees "a" and "b" together with the surface form.
        assertArrayEquals(concat(TOK.encodeOrdinary("x "), new int[] {151645}, TOK.encodeOrdinary(" y")),
                TOK.encode("x <|im_end|> y"));
        assertArrayEquals(new int[] {151644, 151645, 151643}, TOK.encode("<|im_start|><|im_end|><|endoftext|>"));
        assertArrayEquals(new int[] {151850}, TOK.encode("<|extra_204|>"));
        // Not a special token: plain text.
        assertArrayEquals(TOK.encodeOrdinary("<|extra_205|>"), TOK.encode("<|extra_205|>"));
        assertArrayEquals(concat(TOK.encodeOrdinary("<|"), new int[] {151645}), TOK.encode("<|<|im_end|>"));
    }

    @Test
    void selectiveAllowedSpecial() {
        AllowedSpecial onlyEnd = AllowedSpecial.of(Set.of("<|im_end|>"));
        int[] ids = TOK.encode("<|im_start|>x<|im_end|>", onlyEnd);
        assertArrayEquals(concat(TOK.encodeOrdinary("<|im_start|>x"), new int[] {151645}), ids);
        assertFalse(Arrays.stream(TOK.encode("<|im_start|>", AllowedSpecial.NONE)).anyMatch(TOK::isSpecial));
        assertArrayEquals(TOK.encode("<|im_end|>", AllowedSpecial.NONE), TOK.encodeOrdinary("<|im_end|>"));
    }

    @Test
    void disallowedSpecialThrowsNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TOK.encode("hi <|im_start|>", AllowedSpecial.NONE, Set.of("<|im_start|>")));
        assertTrue(e.getMessage().contains("<|im_start|>"));
        assertArrayEquals(TOK.encodeOrdinary("hi"), TOK.encode("hi", AllowedSpecial.NONE, Set.of("<|im_start|>")));
    }

    @Test
    void allowedSpecialParsing() {
        assertEquals(AllowedSpecial.ALL, AllowedSpecial.parse("all"));
        assertEquals(AllowedSpecial.NONE, AllowedSpecial.parse("None"));
        assertEquals(AllowedSpecial.of(Set.of("<|im_end|>", "<|endoftext|>")), AllowedSpecial.parse("<|im_end|>, <|endoftext|>"));
        assertTrue(AllowedSpecial.ALL.allows("<|anything|>"));
        assertFalse(AllowedSpecial.NONE.allows("<|im_end|>"));
        assertTrue(AllowedSpecial.of(Set.of()).isNone());
    }

    @Test
    void decodeRejectsUnknownIds() {
        for (int bad : new int[] {-1, 151851, 1_000_000}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TOK.decode(new int[] {1, bad}));
            assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> TOK.tokenBytes(bad));
        }
    }

    @Test
    void specialsDecodeToTheirSurfaceForm() {
        assertEquals("<|im_start|>user\nhi<|im_end|>", TOK.decode(TOK.encode("<|im_start|>user\nhi<|im_end|>")));
        assertEquals("<|extra_3|>", TOK.decode(new int[] {151649}));
    }

    @Test
    void nfcIsAppliedBeforeEncoding() {
        assertArrayEquals(TOK.encode("caf\u00e9"), TOK.encode("cafe\u0301"));
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }
}
