package io.qwenserve.engine.config;

import java.util.Locale;

/**
 * The model families this engine runs. They share one forward pass; the differences are data in
 * {@link ModelConfig} plus the checkpoint tensor names below.
 */
public enum Architecture {
    /** Qwen v1 ({@code QWenLMHeadModel}): fused c_attn, halved MLP width, dynamic NTK and logN. */
    QWEN("QWenLMHeadModel", "qwen"),
    /** Qwen1.5/2/2.5 ({@code Qwen2ForCausalLM}): separate q/k/v with biases, GQA. */
    QWEN2("Qwen2ForCausalLM", "qwen2"),
    /** Qwen3 ({@code Qwen3ForCausalLM}): explicit head_dim, q/k RMSNorm, no q/k/v biases by default. */
    QWEN3("Qwen3ForCausalLM", "qwen3");

    private final String hfClass;
    private final String modelType;

    Architecture(String hfClass, String modelType) {
        this.hfClass = hfClass;
        this.modelType = modelType;
    }

    /** The {@code architectures[0]} value of a Hugging Face {@code config.json}. */
    public String hfClass() {
        return hfClass;
    }

    /** The {@code model_type} value of a Hugging Face {@code config.json}. */
    public String modelType() {
        return modelType;
    }

    /** Parses a CLI spelling: {@code qwen}, {@code qwen2} or {@code qwen3}. */
    public static Architecture parse(String s) {
        for (Architecture a : values()) {
            if (a.modelType.equals(s.toLowerCase(Locale.ROOT)) || a.hfClass.equals(s)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown architecture '" + s + "' (expected qwen, qwen2 or qwen3)");
    }

    public static Architecture fromHf(String architectureClass, String modelType) {
        for (Architecture a : values()) {
            if (a.hfClass.equals(architectureClass)) {
                return a;
            }
        }
        if (architectureClass == null) {
            for (Architecture a : values()) {
                if (a.modelType.equals(modelType)) {
                    return a;
                }
            }
        }
        return null;
    }

    // ---- checkpoint tensor names -----------------------------------------------------------

    public String embedding() {
        return this == QWEN ? "transformer.wte.weight" : "model.embed_tokens.weight";
    }

    public String finalNorm() {
        return this == QWEN ? "transformer.ln_f.weight" : "model.norm.weight";
    }

    public String lmHead() {
        return "lm_head.weight";
    }

    public String layer(int i, String part) {
        return (this == QWEN ? "transformer.h." : "model.layers.") + i + "." + part;
    }

    public String inputNorm(int i) {
        return layer(i, this == QWEN ? "ln_1.weight" : "input_layernorm.weight");
    }

    public String postAttentionNorm(int i) {
        return layer(i, this == QWEN ? "ln_2.weight" : "post_attention_layernorm.weight");
    }

    /** Prefix of the output projection of attention ({@code .weight}). */
    public String attnOut(int i) {
        return layer(i, this == QWEN ? "attn.c_proj" : "self_attn.o_proj");
    }

    /** Prefix of the MLP gate projection (SiLU applied). Qwen v1 calls it {@code w2}. */
    public String mlpGate(int i) {
        return layer(i, this == QWEN ? "mlp.w2" : "mlp.gate_proj");
    }

    /** Prefix of the MLP up projection. Qwen v1 calls it {@code w1}. */
    public String mlpUp(int i) {
        return layer(i, this == QWEN ? "mlp.w1" : "mlp.up_proj");
    }

    public String mlpDown(int i) {
        return layer(i, this == QWEN ? "mlp.c_proj" : "mlp.down_proj");
    }

    /** Qwen v1 only: the fused QKV projection prefix. */
    public String fusedQkv(int i) {
        return layer(i, "attn.c_attn");
    }

    public String qProj(int i) {
        return layer(i, "self_attn.q_proj");
    }

    public String kProj(int i) {
        return layer(i, "self_attn.k_proj");
    }

    public String vProj(int i) {
        return layer(i, "self_attn.v_proj");
    }

    public String qNorm(int i) {
        return layer(i, "self_attn.q_norm.weight");
    }

    public String kNorm(int i) {
        return layer(i, "self_attn.k_norm.weight");
    }
}
