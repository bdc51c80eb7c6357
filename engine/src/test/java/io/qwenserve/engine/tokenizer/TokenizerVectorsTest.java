package io.qwenserve.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.engine.chat.ChatTemplate;
import io.qwenserve.engine.config.Architecture;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The published and computed test vectors (reference §7), run against the bundled vocabulary. */
class TokenizerVectorsTest {
    private static final QwenTokenizer TOK = QwenTokenizer.defaultQwen();

    @Test
    void vectorFilesHaveTheDocumentedSize() {
        assertEquals(46, TestVectors.inpOut("ggml-vocab-qwen2.gguf").size());
        assertEquals(9, TestVectors.inpOut("qwen-extra-computed").size());
        assertEquals(15, TestVectors.qwen1Rows().size());
    }

    @TestFactory
    Stream<DynamicTest> llamaCppQwen2Vectors() {
        return inpOutTests("ggml-vocab-qwen2.gguf");
    }

    @TestFactory
    Stream<DynamicTest> computedExtraVectors() {
        return inpOutTests("qwen-extra-computed");
    }

    private static Stream<DynamicTest> inpOutTests(String name) {
        List<TestVectors.Case> cases = TestVectors.inpOut(name);
        return cases.stream().map(c -> dynamicTest(name + " #" + cases.indexOf(c) + " " + shown(c.text()), () -> {
            assertArrayEquals(c.ids(), TOK.encode(c.text()));
            assertArrayEquals(c.ids(), TOK.encodeOrdinary(c.text()));
            assertEquals(Normalizer.normalize(c.text(), Normalizer.Form.NFC), TOK.decode(c.ids()));
        }));
    }

    @TestFactory
    Stream<DynamicTest> qwen1Vectors() {
        List<JsonNode> rows = TestVectors.qwen1Rows();
        return rows.stream().map(row -> dynamicTest(
                rows.indexOf(row) + " " + row.get("kind").asText() + " " + shown(row.path("text").asText()),
                () -> check(row)));
    }

    private static void check(JsonNode row) {
        String text = row.path("text").asText();
        switch (row.get("kind").asText()) {
            case "encode": {
                int[] ids = TestVectors.ints(row.get("ids"));
                assertArrayEquals(ids, TOK.encode(text, allowed(row.get("allowed_special"))));
                if (row.has("pieces")) {
                    JsonNode pieces = row.get("pieces");
                    for (int i = 0; i < ids.length; i++) {
                        assertEquals(pieces.get(i).asText(), TOK.decode(new int[] {ids[i]}));
                    }
                }
                break;
            }
            case "encode_error": {
                Set<String> disallowed = new HashSet<>();
                row.get("disallowed_special").forEach(n -> disallowed.add(n.asText()));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> TOK.encode(text, allowed(row.get("allowed_special")), disallowed));
                assertTrue(e.getMessage().contains("<|extra_0|>"), e.getMessage());
                break;
            }
            case "decode": {
                int[] ids = TestVectors.ints(row.get("ids"));
                assertEquals(row.get("expected_text").asText(), TOK.decode(ids));
                for (int i = 0; i < ids.length; i++) {
                    assertEquals(row.get("token_bytes_hex").get(i).asText(), HexFormat.of().formatHex(TOK.tokenBytes(ids[i])));
                }
                break;
            }
            case "chatml_prompt": {
                Matcher m = Pattern.compile("<\\|im_start\\|>system\n(.*)<\\|im_end\\|>\n<\\|im_start\\|>user\n(.*)"
                        + "<\\|im_end\\|>\n<\\|im_start\\|>assistant\n", Pattern.DOTALL).matcher(text);
                assertTrue(m.matches(), "unexpected chatml_prompt layout");
                ChatTemplate chat = ChatTemplate.forArchitecture(Architecture.QWEN, TOK, 6144);
                int[] ids = TestVectors.ints(row.get("ids"));
                assertArrayEquals(ids, chat.encode(m.group(1), List.of(), m.group(2)));
                assertEquals(text, TOK.decode(ids));
                break;
            }
            default:
                throw new AssertionError("unknown kind " + row.get("kind"));
        }
    }

    private static AllowedSpecial allowed(JsonNode node) {
        if (node.isTextual()) {
            return AllowedSpecial.parse(node.asText());
        }
        Set<String> set = new HashSet<>();
        node.forEach(n -> set.add(n.asText()));
        return AllowedSpecial.of(set);
    }

    private static String shown(String s) {
        String t = s.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        return '"' + (t.length() > 40 ? t.substring(0, 40) + "..." : t) + '"';
    }
}
