package io.qwenserve.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's own decoding defaults from {@code generation_config.json} (all optional), used when a request leaves a
 * parameter unset.
 *
 * @param chatFormat    {@code chatml} for chat models, {@code raw} for base models (Qwen v1 field)
 * @param maxWindowSize history truncation budget of the Qwen v1 chat prompt
 */
public record GenerationDefaults(double temperature, double topP, int topK, double repetitionPenalty, int maxNewTokens,
                                 int maxWindowSize, String chatFormat, List<Integer> eosTokenIds) {

    public static final GenerationDefaults NONE = new GenerationDefaults(1.0, 1.0, 0, 1.0, 512, 6144, "chatml", List.of());

    public static GenerationDefaults load(Path dir) {
        Path file = dir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return NONE;
        }
        JsonNode g;
        try {
            g = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        boolean doSample = g.path("do_sample").asBoolean(true);
        List<Integer> eos = new ArrayList<>();
        JsonNode e = g.path("eos_token_id");
        if (e.isArray()) {
            e.forEach(n -> eos.add(n.asInt()));
        } else if (e.canConvertToInt()) {
            eos.add(e.asInt());
        }
        return new GenerationDefaults(doSample ? g.path("temperature").asDouble(1.0) : 0.0, g.path("top_p").asDouble(1.0),
                g.path("top_k").asInt(0), g.path("repetition_penalty").asDouble(1.0), g.path("max_new_tokens").asInt(512),
                g.path("max_window_size").asInt(6144), g.path("chat_format").asText("chatml"), List.copyOf(eos));
    }
}
