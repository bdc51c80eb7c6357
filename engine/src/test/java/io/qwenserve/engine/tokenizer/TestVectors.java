package io.qwenserve.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/** Reads the test vectors under {@code src/test/resources/tokenizer/} (formats in its README). */
public final class TestVectors {
    /** One llama.cpp-style case: the text and its expected ids. */
    public record Case(String text, int[] ids) {
    }

    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    private TestVectors() {
    }

    /** A {@code .inp}/{@code .out} pair, e.g. {@code "ggml-vocab-qwen2.gguf"}. */
    public static List<Case> inpOut(String name) {
        List<String> inputs = new ArrayList<>(Arrays.asList(read(name + ".inp").split(Pattern.quote(SEPARATOR), -1)));
        if (!inputs.get(inputs.size() - 1).isEmpty()) {
            throw new IllegalStateException(name + ".inp does not end with the separator");
        }
        inputs.remove(inputs.size() - 1);
        String[] outputs = read(name + ".out").split("\n", -1);
        if (outputs.length != inputs.size() + 1 || !outputs[inputs.size()].isEmpty()) {
            throw new IllegalStateException(name + ": " + inputs.size() + " inputs but " + (outputs.length - 1) + " output lines");
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String line = outputs[i];
            int[] ids = line.isEmpty() ? new int[0]
                    : Arrays.stream(line.substring(1).split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(inputs.get(i), ids));
        }
        return cases;
    }

    /** The rows of {@code qwen1-vectors.jsonl}. */
    public static List<JsonNode> qwen1Rows() {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : read("qwen1-vectors.jsonl").split("\n")) {
            if (!line.isBlank()) {
                try {
                    rows.add(json.readTree(line));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return rows;
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static String read(String file) {
        try (InputStream in = TestVectors.class.getResourceAsStream("/tokenizer/" + file)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource tokenizer/" + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
