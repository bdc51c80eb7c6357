package io.qwenserve.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** decode(encode(s)) == NFC(s), and token bytes concatenate to the decoded bytes. */
class RoundTripTest {
    private static final QwenTokenizer TOK = QwenTokenizer.defaultQwen();

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "\n", "\r\n\r\n", "   \t\t  \n\n  x  ", "\u3000全角空格\u3000", "a\u00a0b\u2028c\u2029d\u0085e",
        "你好，世界！这是一个测试。", "日本語のテキストとカタカナ", "한국어 텍스트입니다", "Привет, мир!", "مرحبا بالعالم",
        "🦙🦙🦙 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽", "e\u0301 cafe\u0301 A\u030a \u1100\u1161\u11a8", "ﬁ ﬀ Ⅻ ½ ①", "1234567890 3.14159 -42e-7",
        "it's I'M you'Re they'VE we'll he'd 'S", "def f(x):\n    return x ** 2  # comment\n",
        "<|endoftext|> <|im_start|>user\nhi<|im_end|> <|extra_204|> <|extra_205|> <|im_end", "\uFFFD\uFEFF\u200B\u200D",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 \uD83D\uDE00\uD83D\uDE01", "\u0000\u0001\u007f\u0080\u00ad"
    })
    void roundTrips(String s) {
        assertRoundTrip(s);
    }

    @Test
    void randomUnicodeRoundTrips() {
        Random random = new Random(42);
        for (int n = 0; n < 300; n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = random.nextInt(40); i > 0; i--) {
                sb.appendCodePoint(randomCodePoint(random));
            }
            assertRoundTrip(sb.toString());
        }
    }

    @Test
    void randomAsciiAndWhitespaceRoundTrips() {
        Random random = new Random(7);
        String alphabet = "ab Z09'\n\r\t .,<|>_\u3000\u00a0";
        for (int n = 0; n < 300; n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = random.nextInt(60); i > 0; i--) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            assertRoundTrip(sb.toString());
        }
    }

    private static int randomCodePoint(Random random) {
        List<int[]> ranges = List.of(new int[] {0x20, 0x7F}, new int[] {0, 0x20}, new int[] {0xA0, 0x800},
                new int[] {0x3000, 0xA000}, new int[] {0xAC00, 0xD7A4}, new int[] {0x1F300, 0x1FAFF},
                new int[] {0x10000, 0x110000}, new int[] {0xE000, 0x10000});
        int[] r = ranges.get(random.nextInt(ranges.size()));
        return r[0] + random.nextInt(r[1] - r[0]);
    }

    private static void assertRoundTrip(String s) {
        String nfc = Normalizer.normalize(s, Normalizer.Form.NFC);
        for (AllowedSpecial allowed : List.of(AllowedSpecial.ALL, AllowedSpecial.NONE)) {
            int[] ids = TOK.encode(s, allowed);
            assertEquals(nfc, TOK.decode(ids), () -> "round trip with allowed " + allowed + " of " + s);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (int id : ids) {
                bytes.writeBytes(TOK.tokenBytes(id));
            }
            assertArrayEquals(nfc.getBytes(StandardCharsets.UTF_8), bytes.toByteArray());
        }
        assertEquals(TOK.encode(s).length, TOK.countTokens(s));
    }
}
