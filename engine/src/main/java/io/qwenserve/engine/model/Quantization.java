package io.qwenserve.engine.model;

import java.util.Locale;

/**
 * Weight quantization applied at load. GPTQ Int4 checkpoints are recognised from their files
 * ({@code quantize_config.json}) and need no option.
 */
public enum Quantization {
    /** Weights in the compute dtype. */
    NONE,
    /** int8 per output channel, quantized one layer at a time while loading (fbgemm kernels, CPU). */
    INT8;

    public static Quantization parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "none", "" -> NONE;
            case "int8" -> INT8;
            default -> throw new IllegalArgumentException("unknown quantization '" + s + "' (expected none or int8)");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
