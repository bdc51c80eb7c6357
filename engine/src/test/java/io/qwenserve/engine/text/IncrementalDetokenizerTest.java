package io.qwenserve.engine.text;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IncrementalDetokenizerTest {
    static final QwenTokenizer TOK = QwenTokenizer.defaultQwen();

    /** The id of the single-byte token for each byte (ranks 0..255 are the 256 bytes, in GPT-2 order). */
    static final int[] BYTE_TOKEN = new int[256];

    static {
        for (int id = 0; id < 256; id++) {
            BYTE_TOKEN[TOK.tokenBytes(id)[0] & 0xFF] = id;
        }
    }

    static int[] byteTokens(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = BYTE_TOKEN[b[i] & 0xFF];
        }
        return ids;
    }

    static IncrementalDetokenizer detok(String... stops) {
        return new IncrementalDetokenizer(TOK::tokenBytes, TOK::isSpecial, List.of(stops));
    }

    @Test
    void chineseAndEmojiSplitAcrossTokensAreHeldUntilComplete() {
        IncrementalDetokenizer d = detok();
        List<String> pieces = new ArrayList<>();
        for (int id : byteTokens("你好😀!")) {
            pieces.add(d.push(id));
        }
        // 你 = E4 BD A0, 好 = E5 A5 BD, 😀 = F0 9F 98 80
        assertEquals(List.of("", "", "你", "", "", "好", "", "", "", "😀", "!"), pieces);
        assertEquals("你好😀!", d.text());
        assertFalse(d.text().contains("\uFFFD"));
    }

    @Test
    void realTokenizationOfMixedTextStreamsExactly() {
        String text = "混合 text: 汉字、emoji 👩‍👩‍👧‍👦 and ünïcödé — done.";
        IncrementalDetokenizer d = detok();
        StringBuilder out = new StringBuilder();
        for (int id : TOK.encode(text)) {
            String piece = d.push(id);
            assertFalse(piece.contains("\uFFFD"));
            out.append(piece);
        }
        out.append(d.finish());
        assertEquals(text, out.toString());
    }

    @Test
    void invalidBytesAreDroppedNotReplaced() {
        IncrementalDetokenizer d = detok();
        StringBuilder out = new StringBuilder();
        // a lone continuation byte, then a truncated 3-byte sequence followed by ASCII
        for (int id : new int[] {BYTE_TOKEN[0x80], BYTE_TOKEN['a'], BYTE_TOKEN[0xE4], BYTE_TOKEN[0xBD], BYTE_TOKEN['b']}) {
            out.append(d.push(id));
        }
        out.append(d.finish());
        assertEquals("ab", out.toString());
    }

    @Test
    void stopStringSpanningTokensIsNeverEmitted() {
        IncrementalDetokenizer d = detok("<|stop", "END");
        StringBuilder out = new StringBuilder();
        for (int id : byteTokens("hello EN")) {
            out.append(d.push(id));
        }
        assertEquals("hello ", out.toString(), "'EN' may still become 'END': held back");
        out.append(d.push(BYTE_TOKEN['D']));
        assertEquals("END", d.stopHit());
        assertEquals("hello ", out.toString());
        assertEquals("", d.push(BYTE_TOKEN['x']), "nothing after a stop");
    }

    @Test
    void heldBackTextIsReleasedWhenItCannotBeAStop() {
        IncrementalDetokenizer d = detok("STOP");
        StringBuilder out = new StringBuilder();
        for (int id : byteTokens("a STO")) {
            out.append(d.push(id));
        }
        assertEquals("a ", out.toString());
        out.append(d.push(BYTE_TOKEN['X']));
        assertEquals("a STOX", out.toString());
        assertNull(d.stopHit());
    }

    @Test
    void finishReleasesAHeldStopPrefix() {
        IncrementalDetokenizer d = detok("###");
        StringBuilder out = new StringBuilder();
        for (int id : byteTokens("x ##")) {
            out.append(d.push(id));
        }
        out.append(d.finish());
        assertEquals("x ##", out.toString());
    }

    @Test
    void specialTokensProduceNoText() {
        IncrementalDetokenizer d = detok();
        assertEquals("", d.push(QwenTokenizer.IM_END));
        assertEquals("a", d.push(BYTE_TOKEN['a']));
    }

    @Test
    void randomByteStreamsNeverProduceReplacementCharacters() {
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 200; trial++) {
            IncrementalDetokenizer d = detok("zz");
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < 50; i++) {
                out.append(d.push(r.nextInt(151643)));
            }
            out.append(d.finish());
            assertFalse(out.toString().contains("\uFFFD"));
            assertFalse(out.toString().contains("zz"));
        }
    }
}
