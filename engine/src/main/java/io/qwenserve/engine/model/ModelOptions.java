package io.qwenserve.engine.model;

/**
 * How to instantiate a model.
 *
 * @param precision compute dtype of weights and activations
 * @param device    {@code cpu}, {@code cuda} or {@code cuda:N}
 * @param kernel    linear kernel, or null for the device default ({@link LinearKernel#defaultFor})
 * @param progress  print a progress bar while large weights load
 */
public record ModelOptions(Precision precision, String device, LinearKernel kernel, boolean progress) {

    /** The fast default for a device: bf16 (oneDNN/AMX on CPU, cuBLAS on CUDA). */
    public static ModelOptions defaults() {
        return new ModelOptions(Precision.BF16, "cpu", null, false);
    }

    public static ModelOptions of(Precision precision) {
        return new ModelOptions(precision, "cpu", null, false);
    }

    public ModelOptions withDevice(String d) {
        return new ModelOptions(precision, d, kernel, progress);
    }

    public ModelOptions withKernel(LinearKernel k) {
        return new ModelOptions(precision, device, k, progress);
    }

    public ModelOptions withProgress(boolean p) {
        return new ModelOptions(precision, device, kernel, p);
    }
}
