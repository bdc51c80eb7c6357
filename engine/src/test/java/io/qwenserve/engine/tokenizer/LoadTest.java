package io.qwenserve.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link QwenTokenizer#load(Path)} with the file combinations of Qwen v1 and Qwen2/2.5/3 folders. */
class LoadTest {
    private static final QwenTokenizer V1 = QwenTokenizer.defaultQwen();
    private static final int REGULAR = 151643;

    /** A Qwen2-style tokenizer.json, written once for the tests that need it. */
    @TempDir
    static Path shared;
    private static Path tokenizerJson;

    @BeforeAll
    static void writeSharedTokenizerJson() throws IOException {
        tokenizerJson = shared.resolve("tokenizer.json");
        writeTokenizerJson(tokenizerJson);
    }

    @Test
    void qwen3TokenizerConfigGivesExactlyItsAddedTokens(@TempDir Path dir) throws Exception {
        Files.copy(resource("/tokenizer/qwen3/tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        QwenTokenizer tok = QwenTokenizer.load(dir);

        assertEquals(26, tok.specialTokens().size());
        assertEquals(151669, tok.vocabSize());
        assertEquals(OptionalInt.of(151667), tok.specialId("<think>"));
        assertEquals(OptionalInt.of(151657), tok.specialId("<tool_call>"));
        assertEquals(OptionalInt.of(151645), tok.specialId("<|im_end|>"));
        assertEquals(OptionalInt.empty(), tok.specialId("<|extra_0|>"));
        assertArrayEquals(new int[] {151667, 151668}, tok.encode("<think></think>"));
        assertArrayEquals(V1.encodeOrdinary("<|extra_0|>"), tok.encode("<|extra_0|>"));
        assertArrayEquals(V1.encodeOrdinary("<think>"), tok.encodeOrdinary("<think>"));
        assertEquals("<tool_call>{}</tool_call>", tok.decode(tok.encode("<tool_call>{}</tool_call>")));
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {151669}));
        for (TestVectors.Case c : TestVectors.inpOut("ggml-vocab-qwen2.gguf")) {
            assertArrayEquals(c.ids(), tok.encode(c.text()));
        }
    }

    @Test
    void tokenizerJsonAloneIsConvertedFromByteLevelStrings(@TempDir Path dir) throws IOException {
        Files.copy(tokenizerJson, dir.resolve("tokenizer.json"));
        QwenTokenizer tok = QwenTokenizer.load(dir);

        assertEquals(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"), List.copyOf(tok.specialTokens().keySet()));
        for (int id = 0; id < REGULAR; id++) {
            assertArrayEquals(V1.tokenBytes(id), tok.tokenBytes(id), "token " + id);
        }
        for (TestVectors.Case c : TestVectors.inpOut("ggml-vocab-qwen2.gguf")) {
            assertArrayEquals(c.ids(), tok.encode(c.text()));
        }
        assertArrayEquals(new int[] {151644, 151646}, tok.encode("<|im_start|><think>"));
    }

    @Test
    void tokenizerConfigWinsOverTokenizerJsonAddedTokens(@TempDir Path dir) throws Exception {
        Files.copy(tokenizerJson, dir.resolve("tokenizer.json"));
        Files.copy(resource("/tokenizer/qwen3/tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        QwenTokenizer tok = QwenTokenizer.load(dir);
        assertEquals(26, tok.specialTokens().size());
        assertEquals(OptionalInt.of(151667), tok.specialId("<think>"));
    }

    @Test
    void qwenV1FolderWithTiktokenGetsTheV1Specials(@TempDir Path dir) throws IOException {
        try (InputStream in = QwenTokenizer.defaultVocabularyStream()) {
            Files.copy(in, dir.resolve(QwenTokenizer.VOCAB_FILE));
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 8192, \"added_tokens_decoder\": {}}");
        QwenTokenizer tok = QwenTokenizer.load(dir);
        assertEquals(208, tok.specialTokens().size());
        assertEquals(151851, tok.vocabSize());
        assertArrayEquals(new int[] {1350, 445, 151643, 899}, tok.encode("print(\"<|endoftext|>\")"));
    }

    @Test
    void folderWithoutTokenizerFilesGivesTheSharedDefault(@TempDir Path dir) {
        assertSame(V1, QwenTokenizer.load(dir));
        assertThrows(IllegalArgumentException.class, () -> QwenTokenizer.load(dir.resolve("missing")));
    }

    @Test
    void malformedTiktokenIsReported(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(QwenTokenizer.VOCAB_FILE), "IQ== 0\nIg== x\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QwenTokenizer.load(dir));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    /**
     * A Qwen2-style tokenizer.json built from the bundled vocabulary with an independent GPT-2
     * bytes-to-unicode table, plus three of the usual fields that the reader must skip.
     */
    private static void writeTokenizerJson(Path file) throws IOException {
        char[] byteToChar = new char[256];
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || 0xAE <= b;
            byteToChar[b] = (char) (printable ? b : next++);
        }
        try (JsonGenerator g = new ObjectMapper().getFactory().createGenerator(file.toFile(), JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("version", "1.0");
            g.writeArrayFieldStart("added_tokens");
            String[] added = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"};
            for (int i = 0; i < added.length; i++) {
                g.writeStartObject();
                g.writeNumberField("id", REGULAR + i);
                g.writeStringField("content", added[i]);
                g.writeBooleanField("special", i < 3);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("normalizer");
            g.writeStringField("type", "NFC");
            g.writeEndObject();
            g.writeObjectFieldStart("model");
            g.writeStringField("type", "BPE");
            g.writeObjectFieldStart("vocab");
            for (int id = 0; id < REGULAR; id++) {
                StringBuilder sb = new StringBuilder();
                for (byte b : V1.tokenBytes(id)) {
                    sb.append(byteToChar[b & 0xFF]);
                }
                g.writeNumberField(sb.toString(), id);
            }
            g.writeEndObject();
            g.writeArrayFieldStart("merges");
            g.writeStartArray();
            g.writeString("\u0120");
            g.writeString("\u0120");
            g.writeEndArray();
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(LoadTest.class.getResource(name).toURI());
    }
}
