package io.qwenserve.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything the forward pass needs to know about a checkpoint, normalised across Qwen v1, Qwen2 and Qwen3.
 *
 * <p>Family differences are data here: {@code qkvBias}, {@code qkNorm}, {@code useDynamicNtk}, {@code
 * useLognAttn}, {@code tieWordEmbeddings}, {@code numKvHeads} (GQA) and {@code rotaryDim}.
 *
 * @param intermediateSize the real MLP width (Qwen v1's {@code intermediate_size} is halved here)
 * @param seqLength        the training context length S that dynamic NTK and logN refer to (Qwen v1);
 *                         {@code max_position_embeddings} for the others
 * @param eosTokenIds      end-of-sequence ids from {@code config.json} (may be empty)
 */
public record ModelConfig(
        Architecture architecture,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        int rotaryDim,
        int seqLength,
        int maxPositionEmbeddings,
        boolean useDynamicNtk,
        boolean useLognAttn,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean qkNorm,
        List<Integer> eosTokenIds,
        String torchDtype) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        if (numKvHeads <= 0) {
            throw new IllegalArgumentException("num_key_value_heads must be positive, got " + numKvHeads);
        }
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads
                    + " is not a multiple of num_key_value_heads " + numKvHeads);
        }
        if (rotaryDim % 2 != 0 || rotaryDim > headDim || rotaryDim <= 0) {
            throw new IllegalArgumentException("rotary dim " + rotaryDim + " must be even and at most head_dim " + headDim);
        }
    }

    public int qSize() {
        return numHeads * headDim;
    }

    public int kvSize() {
        return numKvHeads * headDim;
    }

    /** Query heads per KV head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Reads {@code dir/config.json}. */
    public static ModelConfig load(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": missing (a model folder needs config.json)");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file + ": not a JSON object");
        }
        try {
            return parse((ObjectNode) root);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses a {@code config.json} object; throws IllegalArgumentException with the offending field. */
    public static ModelConfig parse(ObjectNode c) {
        String archClass = c.path("architectures").path(0).asText(null);
        String modelType = c.path("model_type").asText(null);
        Architecture arch = Architecture.fromHf(archClass, modelType);
        if (arch == null) {
            throw new IllegalArgumentException("unsupported architecture "
                    + (archClass != null ? "'" + archClass + "'" : "(none)")
                    + (modelType != null ? " (model_type '" + modelType + "')" : "")
                    + "; supported: QWenLMHeadModel, Qwen2ForCausalLM, Qwen3ForCausalLM");
        }
        String dtype = c.path("torch_dtype").asText(c.path("dtype").asText("bfloat16"));
        return switch (arch) {
            case QWEN -> parseQwen(c, dtype);
            case QWEN2, QWEN3 -> parseQwen2Or3(c, arch, dtype);
        };
    }

    private static ModelConfig parseQwen(ObjectNode c, String dtype) {
        int hidden = intField(c, "hidden_size", "n_embd");
        int heads = intField(c, "num_attention_heads", "n_head");
        int layers = intField(c, "num_hidden_layers", "n_layer");
        int doubledMlp = intField(c, "intermediate_size", "ffn_hidden_size");
        int vocab = c.has("padded_vocab_size") ? c.get("padded_vocab_size").asInt() : intField(c, "vocab_size", null);
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        int headDim = hidden / heads;
        int kvChannels = c.path("kv_channels").asInt(headDim);
        if (kvChannels != headDim) {
            throw new IllegalArgumentException("kv_channels " + kvChannels + " differs from hidden_size/num_attention_heads "
                    + headDim + "; such a Qwen v1 layout is not supported");
        }
        if (doubledMlp % 2 != 0) {
            throw new IllegalArgumentException("intermediate_size " + doubledMlp + " must be even (Qwen v1 halves it)");
        }
        double rotaryPct = c.path("rotary_pct").asDouble(1.0);
        int rotaryDim = rotaryPct >= 1.0 ? kvChannels : (int) (kvChannels * rotaryPct);
        int seqLength = c.path("seq_length").asInt(c.path("max_position_embeddings").asInt(2048));
        int maxPos = c.has("max_position_embeddings") ? c.get("max_position_embeddings").asInt()
                : c.path("n_positions").asInt(seqLength);
        return new ModelConfig(Architecture.QWEN, hidden, layers, heads, heads, headDim, doubledMlp / 2, vocab,
                c.path("layer_norm_epsilon").asDouble(1e-6), c.path("rotary_emb_base").asDouble(10000.0), rotaryDim,
                seqLength, maxPos, c.path("use_dynamic_ntk").asBoolean(false), c.path("use_logn_attn").asBoolean(false),
                c.path("tie_word_embeddings").asBoolean(false), true, false, eosIds(c, 151643), dtype);
    }

    private static ModelConfig parseQwen2Or3(ObjectNode c, Architecture arch, String dtype) {
        int hidden = intField(c, "hidden_size", null);
        int heads = intField(c, "num_attention_heads", null);
        int kvHeads = c.path("num_key_value_heads").asInt(heads);
        int layers = intField(c, "num_hidden_layers", null);
        int inter = intField(c, "intermediate_size", null);
        int vocab = intField(c, "vocab_size", null);
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        if (arch == Architecture.QWEN2 && hidden % heads != 0) {
            throw new IllegalArgumentException("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        JsonNode ropeParams = c.path("rope_parameters");
        double theta = c.has("rope_theta") ? c.get("rope_theta").asDouble()
                : ropeParams.path("rope_theta").asDouble(arch == Architecture.QWEN2 ? 1_000_000.0 : 1_000_000.0);
        JsonNode scaling = c.path("rope_scaling");
        String scalingType = scaling.isObject() ? scaling.path("rope_type").asText(scaling.path("type").asText("default"))
                : ropeParams.path("rope_type").asText("default");
        if (!scalingType.equals("default")) {
            throw new IllegalArgumentException("rope_scaling type '" + scalingType + "' is not supported");
        }
        if (c.path("use_sliding_window").asBoolean(false)) {
            throw new IllegalArgumentException("use_sliding_window=true is not supported");
        }
        int maxPos = c.path("max_position_embeddings").asInt(32768);
        boolean bias = arch == Architecture.QWEN2 || c.path("attention_bias").asBoolean(false);
        return new ModelConfig(arch, hidden, layers, heads, kvHeads, headDim, inter, vocab,
                c.path("rms_norm_eps").asDouble(1e-6), theta, headDim, maxPos, maxPos, false, false,
                c.path("tie_word_embeddings").asBoolean(false), bias, arch == Architecture.QWEN3,
                eosIds(c, 151643), dtype);
    }

    private static int intField(JsonNode c, String name, String oldName) {
        JsonNode v = c.get(name);
        if ((v == null || v.isNull()) && oldName != null) {
            v = c.get(oldName);
        }
        if (v == null || v.isNull() || !v.canConvertToInt()) {
            throw new IllegalArgumentException("missing integer field '" + name + "'"
                    + (oldName != null ? " (or '" + oldName + "')" : ""));
        }
        int value = v.asInt();
        if (value <= 0) {
            throw new IllegalArgumentException("field '" + name + "' must be positive, got " + value);
        }
        return value;
    }

    private static List<Integer> eosIds(JsonNode c, int fallback) {
        JsonNode e = c.get("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        if (e == null || e.isNull()) {
            ids.add(fallback);
        } else if (e.isArray()) {
            e.forEach(n -> ids.add(n.asInt()));
        } else {
            ids.add(e.asInt());
        }
        return ids;
    }

    /** Writes the {@code config.json} a Hugging Face checkpoint of this architecture would carry. */
    public ObjectNode toHfJson() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add(architecture.hfClass());
        c.put("model_type", architecture.modelType());
        c.put("hidden_size", hiddenSize);
        c.put("num_attention_heads", numHeads);
        c.put("num_hidden_layers", numLayers);
        c.put("vocab_size", vocabSize);
        c.put("torch_dtype", torchDtype);
        if (architecture == Architecture.QWEN) {
            c.put("kv_channels", headDim);
            c.put("intermediate_size", intermediateSize * 2);
            c.put("layer_norm_epsilon", rmsNormEps);
            c.put("rotary_emb_base", ropeTheta);
            c.put("rotary_pct", (double) rotaryDim / headDim);
            c.put("seq_length", seqLength);
            c.put("max_position_embeddings", maxPositionEmbeddings);
            c.put("use_dynamic_ntk", useDynamicNtk);
            c.put("use_logn_attn", useLognAttn);
            c.put("no_bias", true);
            c.put("tie_word_embeddings", false);
            c.put("scale_attn_weights", true);
            c.put("tokenizer_class", "QWenTokenizer");
            c.put("eos_token_id", eosTokenIds.get(0));
        } else {
            c.put("num_key_value_heads", numKvHeads);
            c.put("intermediate_size", intermediateSize);
            c.put("rms_norm_eps", rmsNormEps);
            c.put("rope_theta", ropeTheta);
            c.put("max_position_embeddings", maxPositionEmbeddings);
            c.put("tie_word_embeddings", tieWordEmbeddings);
            c.put("hidden_act", "silu");
            c.put("use_sliding_window", false);
            if (architecture == Architecture.QWEN3) {
                c.put("head_dim", headDim);
                c.put("attention_bias", qkvBias);
            }
            if (eosTokenIds.size() == 1) {
                c.put("eos_token_id", eosTokenIds.get(0));
            } else {
                eosTokenIds.forEach(c.putArray("eos_token_id")::add);
            }
            c.put("bos_token_id", 151643);
        }
        return c;
    }
}
