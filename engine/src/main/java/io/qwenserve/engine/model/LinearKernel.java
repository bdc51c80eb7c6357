package io.qwenserve.engine.model;

/** How a linear layer runs its matrix product. */
public enum LinearKernel {
    /** {@code torch.linear} on a plain [out, in] weight (cuBLAS on CUDA). */
    PLAIN,
    /** libtorch's oneDNN linear on a weight reordered once at load (CPU, fp32 and bf16). */
    ONEDNN_PREPACKED;

    /** The default for a device and dtype: prepacked oneDNN on CPU when available, plain elsewhere. */
    public static LinearKernel defaultFor(boolean cpu, Precision precision) {
        if (cpu && precision != Precision.F16 && OneDnn.get() != null) {
            return ONEDNN_PREPACKED;
        }
        return PLAIN;
    }
}
