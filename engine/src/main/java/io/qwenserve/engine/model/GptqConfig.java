package io.qwenserve.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A GPTQ checkpoint's quantization settings, from {@code quantize_config.json} or {@code config.json}'s
 * {@code quantization_config} (quant_method gptq). Only 4 bits are supported.
 */
public record GptqConfig(int bits, int groupSize, boolean descAct, boolean sym) {
    public static final String FILE = "quantize_config.json";

    /** The folder's GPTQ settings, or null for an unquantized checkpoint. */
    public static GptqConfig load(Path dir) {
        ObjectMapper om = new ObjectMapper();
        JsonNode node = null;
        Path file = dir.resolve(FILE);
        try {
            if (Files.isRegularFile(file)) {
                node = om.readTree(file.toFile());
            } else if (Files.isRegularFile(dir.resolve("config.json"))) {
                JsonNode q = om.readTree(dir.resolve("config.json").toFile()).path("quantization_config");
                if (q.isObject() && q.path("quant_method").asText("gptq").equalsIgnoreCase("gptq") && q.has("bits")) {
                    node = q;
                    file = dir.resolve("config.json");
                }
            }
        } catch (IOException e) {
            throw new CheckpointException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (node == null) {
            return null;
        }
        int bits = node.path("bits").asInt(4);
        if (bits != 4) {
            throw new CheckpointException(file + ": GPTQ with " + bits + " bits is not supported (only 4)");
        }
        if (node.path("checkpoint_format").asText("gptq").equals("gptq_v2")) {
            throw new CheckpointException(file + ": checkpoint_format gptq_v2 is not supported (only AutoGPTQ v1)");
        }
        return new GptqConfig(bits, node.path("group_size").asInt(128), node.path("desc_act").asBoolean(false),
                node.path("sym").asBoolean(true));
    }
}
