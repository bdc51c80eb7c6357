package io.qwenserve.engine.model;

import java.util.Locale;

/** How a linear layer runs its matrix product. Which one runs for a step is decided by a {@link KernelPolicy}. */
public enum LinearKernel {
    /** {@code torch.linear} on a plain [out, in] weight (cuBLAS on CUDA, oneDNN without a prepacked weight on CPU). */
    PLAIN(true, false),
    /**
     * {@code torch.linear} on the plain weight with oneDNN switched off for the call (CPU only): libtorch's own
     * matrix-vector path, meant for steps of one or two tokens. The switch is process-wide; it is flipped around the
     * call only, so only one thread may run model calls (the engine thread).
     */
    GEMV(true, true),
    /** libtorch's oneDNN linear on a weight reordered once at load (CPU, fp32 and bf16). */
    ONEDNN_PREPACKED(true, true),
    /**
     * fbgemm int8: weights quantized per output channel (symmetric int8) and packed at load
     * ({@code quantized::linear_prepack}), activations quantized per call ({@code quantized::linear_dynamic}); CPU.
     */
    INT8_FBGEMM(false, true),
    /**
     * Weight-only int8: weights quantized per output channel (symmetric int8, scales in the activation dtype) at load,
     * activations kept in the compute dtype ({@code aten::_weight_int8pack_mm}); meant for bf16 activations, CPU.
     */
    INT8_WEIGHT_ONLY(false, true),
    /**
     * libtorch's int4 groupwise kernel on GPTQ weights repacked at load; bf16 activations. CPU:
     * {@code _weight_int4pack_mm_for_cpu}; CUDA: {@code _weight_int4pack_mm} ({@link CudaInt4}). Only for GPTQ
     * checkpoints with {@code desc_act} false.
     */
    INT4_PACKED(false, false);

    private final boolean floatWeights;
    private final boolean cpuOnly;

    LinearKernel(boolean floatWeights, boolean cpuOnly) {
        this.floatWeights = floatWeights;
        this.cpuOnly = cpuOnly;
    }

    /** Runs on a floating-point copy of the weight (PLAIN, GEMV, ONEDNN_PREPACKED). */
    public boolean floatWeights() {
        return floatWeights;
    }

    public boolean cpuOnly() {
        return cpuOnly;
    }

    /** Whether this kernel runs weights quantized to int8 (from a float checkpoint). */
    public boolean int8() {
        return this == INT8_FBGEMM || this == INT8_WEIGHT_ONLY;
    }

    /** Accepts the enum name in any case, and the short names plain, gemv, onednn, int8, int8wo, int4. */
    public static LinearKernel parse(String s) {
        String n = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        return switch (n) {
            case "ONEDNN" -> ONEDNN_PREPACKED;
            case "INT8" -> INT8_FBGEMM;
            case "INT8WO", "INT8_WO" -> INT8_WEIGHT_ONLY;
            case "INT4" -> INT4_PACKED;
            default -> {
                try {
                    yield valueOf(n);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("unknown linear kernel '" + s + "' (expected PLAIN, GEMV, "
                            + "ONEDNN_PREPACKED, INT8_FBGEMM, INT8_WEIGHT_ONLY or INT4_PACKED)");
                }
            }
        };
    }

    /** The float kernel for a device and dtype: prepacked oneDNN on CPU when available, plain elsewhere. */
    public static LinearKernel defaultFor(boolean cpu, Precision precision) {
        if (cpu && precision != Precision.F16 && OneDnn.get() != null) {
            return ONEDNN_PREPACKED;
        }
        return PLAIN;
    }
}
