package io.qwenserve.engine.model;

import java.util.Locale;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Compute dtype of weights and activations. */
public enum Precision {
    F32(ScalarType.Float, 4),
    BF16(ScalarType.BFloat16, 2),
    F16(ScalarType.Half, 2);

    private final ScalarType scalarType;
    private final int bytes;

    Precision(ScalarType scalarType, int bytes) {
        this.scalarType = scalarType;
        this.bytes = bytes;
    }

    public ScalarType scalarType() {
        return scalarType;
    }

    public int bytes() {
        return bytes;
    }

    /** Accepts fp32/float32/f32, bf16/bfloat16, fp16/float16/f16/half. */
    public static Precision parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32", "f32", "float" -> F32;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "float16", "f16", "half" -> F16;
            default -> throw new IllegalArgumentException("unknown dtype '" + s + "' (expected fp32, bf16 or fp16)");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace("f32", "fp32").replace("f16", "fp16").replace("bfp16", "bf16");
    }
}
