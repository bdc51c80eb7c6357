package io.qwenserve.engine.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PEFT's {@code adapter_config.json} for a LoRA adapter of a causal LM. Written with the fields PEFT writes; read with
 * the checks that matter to how the adapter applies: {@code peft_type} LORA, {@code bias} none, no
 * {@code fan_in_fan_out}, DoRA, per-module rank or alpha patterns, nor {@code modules_to_save}. rsLoRA
 * ({@code use_rslora}: scale alpha/sqrt(r)) is honoured.
 */
public record AdapterConfig(int r, double loraAlpha, double loraDropout, List<String> targetModules,
                            String baseModelNameOrPath, boolean useRslora) {
    public static final String FILE = "adapter_config.json";

    public AdapterConfig {
        targetModules = List.copyOf(targetModules);
    }

    /** The factor applied to {@code B A}: alpha / r (alpha / sqrt(r) with rsLoRA). */
    public double scale() {
        return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    }

    public void write(Path dir) {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode c = om.createObjectNode();
        c.putObject("alpha_pattern");
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", baseModelNameOrPath);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        if (loraAlpha == Math.rint(loraAlpha)) {
            c.put("lora_alpha", (long) loraAlpha);
        } else {
            c.put("lora_alpha", loraAlpha);
        }
        c.put("lora_dropout", loraDropout);
        c.putNull("modules_to_save");
        c.put("peft_type", "LORA");
        c.put("r", r);
        c.putObject("rank_pattern");
        c.putNull("revision");
        targetModules.forEach(c.putArray("target_modules")::add);
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", useRslora);
        try {
            Files.createDirectories(dir);
            om.writeValue(dir.resolve(FILE).toFile(), c);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
        }
    }

    public static AdapterConfig read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": missing (a PEFT LoRA adapter folder holds " + FILE + " and "
                    + PeftAdapter.WEIGHTS + ")");
        }
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        String peftType = c.path("peft_type").asText("");
        require(file, "LORA".equalsIgnoreCase(peftType), "peft_type", "is '" + peftType + "', only LORA is supported");
        String bias = c.path("bias").asText("none");
        require(file, bias.equals("none"), "bias", "is '" + bias + "', only none is supported (trained biases are not read)");
        require(file, !c.path("fan_in_fan_out").asBoolean(false), "fan_in_fan_out", "true is not supported (Qwen's linears are not Conv1D)");
        require(file, !c.path("use_dora").asBoolean(false), "use_dora", "DoRA adapters are not supported");
        require(file, empty(c.get("rank_pattern")), "rank_pattern", "per-module ranks are not supported");
        require(file, empty(c.get("alpha_pattern")), "alpha_pattern", "per-module alphas are not supported");
        require(file, empty(c.get("modules_to_save")), "modules_to_save", "fully trained modules are not supported");
        require(file, empty(c.get("layers_to_transform")), "layers_to_transform", "is not supported");
        require(file, c.path("r").canConvertToInt() && c.path("r").asInt() > 0, "r", "must be a positive integer");
        require(file, c.path("lora_alpha").isNumber(), "lora_alpha", "must be a number");
        List<String> targets = new ArrayList<>();
        JsonNode t = c.path("target_modules");
        if (t.isTextual()) {
            targets.add(t.asText());
        } else {
            t.forEach(n -> targets.add(n.asText()));
        }
        return new AdapterConfig(c.get("r").asInt(), c.get("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(0),
                targets, c.path("base_model_name_or_path").asText(null), c.path("use_rslora").asBoolean(false));
    }

    private static boolean empty(JsonNode n) {
        return n == null || n.isNull() || (n.isContainerNode() && n.isEmpty());
    }

    private static void require(Path file, boolean ok, String field, String problem) {
        if (!ok) {
            throw new IllegalArgumentException(file + ": \"" + field + "\" " + problem);
        }
    }
}
