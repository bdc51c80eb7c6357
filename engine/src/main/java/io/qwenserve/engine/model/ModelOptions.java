package io.qwenserve.engine.model;

/**
 * How to instantiate a model.
 *
 * @param precision    compute dtype of weights and activations
 * @param device       {@code cpu}, {@code cuda} or {@code cuda:N}
 * @param kernel       one linear kernel for every step, or null (see {@code kernelPolicy})
 * @param progress     print a progress bar while large weights load
 * @param quantization weight quantization applied at load ({@link Quantization#NONE} for none)
 * @param kernelPolicy per-step kernel choice, or null for {@link KernelPolicy#defaultFor} ({@code kernel} wins when set)
 * @param threads      libtorch intra-op threads; 0 for every available processor (see {@link TorchRuntime})
 */
public record ModelOptions(Precision precision, String device, LinearKernel kernel, boolean progress,
                           Quantization quantization, KernelPolicy kernelPolicy, int threads) {

    public ModelOptions {
        quantization = quantization == null ? Quantization.NONE : quantization;
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0: every available processor), got " + threads);
        }
    }

    public ModelOptions(Precision precision, String device, LinearKernel kernel, boolean progress,
                        Quantization quantization, KernelPolicy kernelPolicy) {
        this(precision, device, kernel, progress, quantization, kernelPolicy, 0);
    }

    public ModelOptions(Precision precision, String device, LinearKernel kernel, boolean progress) {
        this(precision, device, kernel, progress, Quantization.NONE, null);
    }

    /** The fast default for a device: bf16 (oneDNN/AMX on CPU, cuBLAS on CUDA). */
    public static ModelOptions defaults() {
        return new ModelOptions(Precision.BF16, "cpu", null, false);
    }

    public static ModelOptions of(Precision precision) {
        return new ModelOptions(precision, "cpu", null, false);
    }

    public ModelOptions withDevice(String d) {
        return new ModelOptions(precision, d, kernel, progress, quantization, kernelPolicy, threads);
    }

    public ModelOptions withKernel(LinearKernel k) {
        return new ModelOptions(precision, device, k, progress, quantization, kernelPolicy, threads);
    }

    public ModelOptions withProgress(boolean p) {
        return new ModelOptions(precision, device, kernel, p, quantization, kernelPolicy, threads);
    }

    public ModelOptions withQuantization(Quantization q) {
        return new ModelOptions(precision, device, kernel, progress, q, kernelPolicy, threads);
    }

    public ModelOptions withKernelPolicy(KernelPolicy p) {
        return new ModelOptions(precision, device, kernel, progress, quantization, p, threads);
    }

    public ModelOptions withThreads(int n) {
        return new ModelOptions(precision, device, kernel, progress, quantization, kernelPolicy, n);
    }

    /** The policy these options ask for, given the device and whether the checkpoint is GPTQ. */
    public KernelPolicy resolvePolicy(boolean cpu, boolean gptq) {
        if (kernel != null) {
            return KernelPolicy.single(kernel);
        }
        if (kernelPolicy != null) {
            return kernelPolicy.resolveAuto(cpu, quantization, gptq);
        }
        return KernelPolicy.defaultFor(cpu, precision, quantization, gptq);
    }
}
