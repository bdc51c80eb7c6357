package io.qwenserve.engine.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Readers for the Hugging Face tokenizer files of Qwen1.5/2/2.5/3: the byte-level vocabulary and
 * {@code added_tokens} of {@code tokenizer.json} (reference §5.5, §5.6) and the
 * {@code added_tokens_decoder} of {@code tokenizer_config.json}.
 *
 * <p>The vocabulary comes back as an array indexed by token id (= tiktoken rank) holding each token's raw
 * bytes, {@code null} where an id is unused.
 */
final class HfTokenizerFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a {@code tokenizer.json} holds for us; either part is {@code null} when absent, empty or not read. */
    record TokenizerJson(byte[][] ranks, Map<String, Integer> addedTokens) {
    }

    private HfTokenizerFiles() {
    }

    /**
     * Streams a {@code tokenizer.json}: {@code model.vocab} converted to token bytes (only if
     * {@code wantVocab}) and the top-level {@code added_tokens}. The large {@code merges} list is skipped:
     * for Qwen, merge k creates token 256+k, so ranks alone define the BPE.
     */
    static TokenizerJson readTokenizerJson(Path file, boolean wantVocab) throws IOException {
        byte[][] ranks = null;
        Map<String, Integer> added = null;
        try (JsonParser p = JSON.createParser(file.toFile())) {
            expect(p.nextToken(), JsonToken.START_OBJECT, file);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("model") && wantVocab && value == JsonToken.START_OBJECT) {
                    ranks = readModelVocab(p, file);
                } else if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
                    added = new LinkedHashMap<>();
                    for (JsonNode t : (JsonNode) JSON.readTree(p)) {
                        added.put(content(t, file), requiredInt(t, "id", file));
                    }
                    added = added.isEmpty() ? null : sortedById(added);
                } else {
                    p.skipChildren();
                }
            }
        }
        return new TokenizerJson(ranks, added);
    }

    private static byte[][] readModelVocab(JsonParser p, Path file) throws IOException {
        byte[][] ranks = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (field.equals("vocab") && value == JsonToken.START_OBJECT) {
                List<byte[]> byId = new ArrayList<>(160_000);
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String token = p.currentName();
                    expect(p.nextToken(), JsonToken.VALUE_NUMBER_INT, file);
                    int id = p.getIntValue();
                    while (byId.size() <= id) {
                        byId.add(null);
                    }
                    byId.set(id, ByteLevel.toBytes(token));
                }
                ranks = byId.toArray(new byte[0][]);
            } else {
                p.skipChildren();
            }
        }
        return ranks;
    }

    /**
     * The {@code added_tokens_decoder} of a {@code tokenizer_config.json} ({@code {"151643": {"content":
     * "<|endoftext|>", ...}, ...}}) as surface form to id, or {@code null} when the file has none or an
     * empty one.
     */
    static Map<String, Integer> readAddedTokensDecoder(Path file) throws IOException {
        JsonNode decoder = JSON.readTree(file.toFile()).get("added_tokens_decoder");
        if (decoder == null || !decoder.isObject() || decoder.isEmpty()) {
            return null;
        }
        Map<String, Integer> added = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : decoder.properties()) {
            added.put(content(e.getValue(), file), Integer.parseInt(e.getKey()));
        }
        return sortedById(added);
    }

    private static Map<String, Integer> sortedById(Map<String, Integer> m) {
        Map<String, Integer> sorted = new LinkedHashMap<>();
        m.entrySet().stream().sorted(Map.Entry.comparingByValue())
                .forEachOrdered(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    private static String content(JsonNode token, Path file) {
        JsonNode content = token.get("content");
        if (content == null || !content.isTextual() || content.asText().isEmpty()) {
            throw new IllegalArgumentException(file + ": added token without content: " + token);
        }
        return content.asText();
    }

    private static int requiredInt(JsonNode token, String field, Path file) {
        JsonNode value = token.get(field);
        if (value == null || !value.canConvertToInt()) {
            throw new IllegalArgumentException(file + ": added token without " + field + ": " + token);
        }
        return value.asInt();
    }

    private static void expect(JsonToken actual, JsonToken expected, Path file) {
        if (actual != expected) {
            throw new IllegalArgumentException(file + ": expected " + expected + " but found " + actual);
        }
    }
}
