package io.qwenserve.engine.train;

import io.qwenserve.engine.model.Precision;
import java.util.Locale;

/**
 * The three ways {@code bin/qwen finetune} trains, with the defaults of the Qwen repository's finetune scripts
 * ({@code finetune_ds.sh}, {@code finetune_lora_single_gpu.sh}, {@code finetune_qlora_single_gpu.sh}): learning rate,
 * per-device batch size, gradient accumulation and dtype differ by method; the rest is shared (see
 * {@link FinetuneOptions#defaults}).
 */
public enum FinetuneMethod {
    /** Every weight trains (fp32 master copies, AdamW state for each). */
    FULL(1e-5, 1, 16, Precision.BF16),
    /** LoRA adapters on the target modules of a float checkpoint; the base weights are frozen. */
    LORA(3e-4, 2, 8, Precision.BF16),
    /** LoRA over a GPTQ Int4 checkpoint whose weights stay int4 and frozen ({@code --fp16} in the script). */
    QLORA(3e-4, 2, 8, Precision.F16);

    private final double lr;
    private final int batchSize;
    private final int gradAccum;
    private final Precision dtype;

    FinetuneMethod(double lr, int batchSize, int gradAccum, Precision dtype) {
        this.lr = lr;
        this.batchSize = batchSize;
        this.gradAccum = gradAccum;
        this.dtype = dtype;
    }

    public double defaultLr() {
        return lr;
    }

    public int defaultBatchSize() {
        return batchSize;
    }

    public int defaultGradAccum() {
        return gradAccum;
    }

    public Precision defaultDtype() {
        return dtype;
    }

    public boolean lora() {
        return this != FULL;
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static FinetuneMethod parse(String s) {
        for (FinetuneMethod m : values()) {
            if (m.cliName().equals(s.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown --method '" + s + "' (expected full, lora or qlora)");
    }
}
