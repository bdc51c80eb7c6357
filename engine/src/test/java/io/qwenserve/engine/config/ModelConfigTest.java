package io.qwenserve.engine.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.checkpoint.CheckpointException;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** config.json parsing for Qwen v1 (both spellings), Qwen2 and Qwen3, with real published configs. */
class ModelConfigTest {
    private static final ObjectMapper OM = new ObjectMapper();

    @TempDir
    Path tmp;

    private static ObjectNode json(String s) {
        try {
            return (ObjectNode) OM.readTree(s.replace('\'', '"'));
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Qwen-7B config.json as published after the 2023-09-25 update (current spellings). */
    static final String QWEN_7B = """
            {'architectures': ['QWenLMHeadModel'], 'attn_dropout_prob': 0.0, 'bf16': false, 'emb_dropout_prob': 0.0,
             'fp16': false, 'fp32': false, 'hidden_size': 4096, 'intermediate_size': 22016, 'initializer_range': 0.02,
             'kv_channels': 128, 'layer_norm_epsilon': 1e-06, 'max_position_embeddings': 8192, 'model_type': 'qwen',
             'no_bias': true, 'num_attention_heads': 32, 'num_hidden_layers': 32, 'onnx_safe': null,
             'rotary_emb_base': 10000, 'rotary_pct': 1.0, 'scale_attn_weights': true, 'seq_length': 8192,
             'tie_word_embeddings': false, 'tokenizer_class': 'QWenTokenizer', 'use_cache': true,
             'use_dynamic_ntk': true, 'use_flash_attn': 'auto', 'use_logn_attn': true, 'vocab_size': 151936}
            """;

    /** The same model in the original Aug-2023 Megatron-style spellings (other values aligned with QWEN_7B). */
    static final String QWEN_7B_OLD_SPELLING = """
            {'activation': 'swiglu', 'apply_residual_connection_post_layernorm': false,
             'architectures': ['QWenLMHeadModel'], 'bf16': true, 'bias_dropout_fusion': true, 'bos_token_id': 151643,
             'eos_token_id': 151643, 'ffn_hidden_size': 22016, 'kv_channels': 128, 'layer_norm_epsilon': 1e-06,
             'model_type': 'qwen', 'n_embd': 4096, 'n_head': 32, 'n_layer': 32, 'n_positions': 8192, 'no_bias': true,
             'padded_vocab_size': 151936, 'params_dtype': 'torch.bfloat16', 'pos_emb': 'rotary',
             'rotary_emb_base': 10000, 'rotary_pct': 1.0, 'scale_attn_weights': true, 'seq_length': 8192,
             'tie_word_embeddings': false, 'tokenizer_type': 'QWenTokenizer', 'use_dynamic_ntk': true,
             'use_flash_attn': true, 'use_logn_attn': true, 'vocab_size': 151851}
            """;

    /** Qwen-7B-Chat as first released (Aug 2023): eps 1e-5, seq_length 2048, n_positions 6144, no NTK/logN. */
    static final String QWEN_7B_CHAT_ORIGINAL = """
            {'architectures': ['QWenLMHeadModel'], 'bf16': true, 'eos_token_id': 151643, 'ffn_hidden_size': 22016,
             'kv_channels': 128, 'layer_norm_epsilon': 1e-05, 'model_type': 'qwen', 'n_embd': 4096, 'n_head': 32,
             'n_layer': 32, 'n_positions': 6144, 'no_bias': true, 'padded_vocab_size': 151936, 'rotary_emb_base': 10000,
             'rotary_pct': 1.0, 'seq_length': 2048, 'tie_word_embeddings': false, 'use_dynamic_ntk': false,
             'use_logn_attn': false, 'vocab_size': 151936}
            """;

    static final String QWEN2_05B = """
            {'architectures': ['Qwen2ForCausalLM'], 'attention_dropout': 0.0, 'bos_token_id': 151643,
             'eos_token_id': 151643, 'hidden_act': 'silu', 'hidden_size': 896, 'initializer_range': 0.02,
             'intermediate_size': 4864, 'max_position_embeddings': 131072, 'max_window_layers': 24,
             'model_type': 'qwen2', 'num_attention_heads': 14, 'num_hidden_layers': 24, 'num_key_value_heads': 2,
             'rms_norm_eps': 1e-06, 'rope_theta': 1000000.0, 'sliding_window': 131072, 'tie_word_embeddings': true,
             'torch_dtype': 'bfloat16', 'use_cache': true, 'use_sliding_window': false, 'vocab_size': 151936}
            """;

    static final String QWEN3_4B = """
            {'architectures': ['Qwen3ForCausalLM'], 'attention_bias': false, 'attention_dropout': 0.0,
             'bos_token_id': 151643, 'eos_token_id': 151645, 'head_dim': 128, 'hidden_act': 'silu',
             'hidden_size': 2560, 'initializer_range': 0.02, 'intermediate_size': 9728,
             'max_position_embeddings': 40960, 'max_window_layers': 36, 'model_type': 'qwen3',
             'num_attention_heads': 32, 'num_hidden_layers': 36, 'num_key_value_heads': 8, 'rms_norm_eps': 1e-06,
             'rope_scaling': null, 'rope_theta': 1000000, 'sliding_window': null, 'tie_word_embeddings': true,
             'torch_dtype': 'bfloat16', 'use_cache': true, 'use_sliding_window': false, 'vocab_size': 151936}
            """;

    @Test
    void qwen7bCurrentSpelling() {
        ModelConfig c = ModelConfig.parse(json(QWEN_7B));
        assertEquals(Architecture.QWEN, c.architecture());
        assertEquals(4096, c.hiddenSize());
        assertEquals(32, c.numLayers());
        assertEquals(32, c.numHeads());
        assertEquals(32, c.numKvHeads(), "Qwen v1 has no GQA");
        assertEquals(128, c.headDim());
        assertEquals(11008, c.intermediateSize(), "the real MLP width is intermediate_size / 2");
        assertEquals(151936, c.vocabSize());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(128, c.rotaryDim());
        assertEquals(8192, c.seqLength());
        assertTrue(c.useDynamicNtk());
        assertTrue(c.useLognAttn());
        assertFalse(c.tieWordEmbeddings());
        assertTrue(c.qkvBias(), "c_attn always has a bias");
        assertFalse(c.qkNorm());
        assertEquals(List.of(151643), c.eosTokenIds());
        assertEquals(4096, c.qSize());
        assertEquals(4096, c.kvSize());
        assertEquals(1, c.groupSize());
    }

    @Test
    void qwen1OriginalSpellingGivesTheSameConfig() {
        ModelConfig current = ModelConfig.parse(json(QWEN_7B));
        ModelConfig old = ModelConfig.parse(json(QWEN_7B_OLD_SPELLING));
        assertEquals(current, old);
        assertEquals(151936, old.vocabSize(), "padded_vocab_size (the weight rows) wins over vocab_size");
    }

    @Test
    void qwen7bChatOriginalRelease() {
        ModelConfig c = ModelConfig.parse(json(QWEN_7B_CHAT_ORIGINAL));
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(2048, c.seqLength());
        assertEquals(6144, c.maxPositionEmbeddings());
        assertFalse(c.useDynamicNtk());
        assertFalse(c.useLognAttn());
        assertEquals(11008, c.intermediateSize());
        assertEquals(4096, c.hiddenSize());
    }

    @Test
    void qwen1PartialRotary() {
        ObjectNode n = json(QWEN_7B);
        n.put("rotary_pct", 0.5);
        assertEquals(64, ModelConfig.parse(n).rotaryDim());
    }

    @Test
    void qwen1MismatchedKvChannelsIsRejected() {
        ObjectNode n = json(QWEN_7B);
        n.put("kv_channels", 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(n));
        assertTrue(e.getMessage().contains("kv_channels"), e.getMessage());
    }

    @Test
    void qwen2() {
        ModelConfig c = ModelConfig.parse(json(QWEN2_05B));
        assertEquals(Architecture.QWEN2, c.architecture());
        assertEquals(896, c.hiddenSize());
        assertEquals(24, c.numLayers());
        assertEquals(14, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(7, c.groupSize());
        assertEquals(64, c.headDim(), "no head_dim field: hidden / heads");
        assertEquals(64, c.rotaryDim());
        assertEquals(4864, c.intermediateSize(), "Qwen2's intermediate_size is the real width");
        assertEquals(1_000_000.0, c.ropeTheta());
        assertEquals(1e-6, c.rmsNormEps());
        assertTrue(c.tieWordEmbeddings());
        assertTrue(c.qkvBias());
        assertFalse(c.qkNorm());
        assertFalse(c.useDynamicNtk());
        assertFalse(c.useLognAttn());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertEquals(128, c.kvSize());
        assertEquals(896, c.qSize());
    }

    @Test
    void qwen3() {
        ModelConfig c = ModelConfig.parse(json(QWEN3_4B));
        assertEquals(Architecture.QWEN3, c.architecture());
        assertEquals(2560, c.hiddenSize());
        assertEquals(128, c.headDim(), "explicit head_dim");
        assertEquals(128, c.rotaryDim());
        assertEquals(4096, c.qSize(), "32 heads x 128 differs from hidden 2560");
        assertEquals(1024, c.kvSize());
        assertEquals(9728, c.intermediateSize());
        assertFalse(c.qkvBias(), "attention_bias false");
        assertTrue(c.qkNorm());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(1_000_000.0, c.ropeTheta());
        assertEquals(List.of(151645), c.eosTokenIds());
        assertFalse(c.useDynamicNtk());
        assertFalse(c.useLognAttn());

        ObjectNode biased = json(QWEN3_4B);
        biased.put("attention_bias", true);
        assertTrue(ModelConfig.parse(biased).qkvBias());
    }

    @Test
    void ropeParametersThetaIsAccepted() {
        ObjectNode n = json(QWEN3_4B);
        n.remove("rope_theta");
        n.remove("rope_scaling");
        n.putObject("rope_parameters").put("rope_theta", 5_000_000.0).put("rope_type", "default");
        assertEquals(5_000_000.0, ModelConfig.parse(n).ropeTheta());
        ObjectNode q2 = json(QWEN2_05B);
        q2.remove("rope_theta");
        q2.putObject("rope_parameters").put("rope_theta", 10_000.0);
        assertEquals(10_000.0, ModelConfig.parse(q2).ropeTheta());
    }

    @Test
    void yarnRopeScalingIsRejected() throws IOException {
        ObjectNode n = json(QWEN2_05B);
        n.putObject("rope_scaling").put("factor", 4.0).put("original_max_position_embeddings", 32768).put("type", "yarn");
        Path dir = Files.createDirectories(tmp.resolve("yarn"));
        OM.writeValue(dir.resolve("config.json").toFile(), n);
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfig.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("rope_scaling") && e.getMessage().contains("'yarn'"), e.getMessage());

        ObjectNode q3 = json(QWEN3_4B);
        q3.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(q3)).getMessage().contains("yarn"));

        ObjectNode params = json(QWEN3_4B);
        params.remove("rope_theta");
        params.remove("rope_scaling");
        params.putObject("rope_parameters").put("rope_theta", 1e6).put("rope_type", "yarn").put("factor", 4.0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(params)).getMessage().contains("yarn"));
    }

    @Test
    void architectureFromModelTypeAloneAndUnknownOnes() {
        ObjectNode n = json(QWEN2_05B);
        n.remove("architectures");
        assertEquals(Architecture.QWEN2, ModelConfig.parse(n).architecture());
        ObjectNode llama = json(QWEN2_05B);
        llama.putArray("architectures").add("LlamaForCausalLM");
        llama.put("model_type", "llama");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(llama));
        assertTrue(e.getMessage().contains("LlamaForCausalLM"), e.getMessage());
    }

    @Test
    void missingFieldIsNamed() throws IOException {
        ObjectNode n = json(QWEN2_05B);
        n.remove("hidden_size");
        Path dir = Files.createDirectories(tmp.resolve("m"));
        OM.writeValue(dir.resolve("config.json").toFile(), n);
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfig.load(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("'hidden_size'"), e.getMessage());
    }

    @Test
    void badKvHeadCountsAreNamed() throws IOException {
        for (int kv : new int[] {0, 3}) {
            ObjectNode n = json(QWEN2_05B);
            n.put("num_key_value_heads", kv);
            Path dir = Files.createDirectories(tmp.resolve("kv" + kv));
            OM.writeValue(dir.resolve("config.json").toFile(), n);
            CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfig.load(dir));
            assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("num_key_value_heads"), e.getMessage());
        }
    }

    @Test
    void eosTokenIdList() {
        ObjectNode n = json(QWEN2_05B);
        n.putArray("eos_token_id").add(151645).add(151643);
        assertEquals(List.of(151645, 151643), ModelConfig.parse(n).eosTokenIds());
    }

    /** toHfJson then parse gives the same record, for every architecture and dtype RandomCheckpoint writes. */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void hfJsonRoundTrip(Architecture a) {
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            ModelConfig c = RandomCheckpoint.Spec.tiny(a).withDtype(dt).withSeqLength(16).toConfig();
            assertEquals(c, ModelConfig.parse(c.toHfJson()));
        }
    }
}
