package io.qwenserve.engine.cli;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.model.KernelPolicy;
import io.qwenserve.engine.model.LinearKernel;
import io.qwenserve.engine.model.Quantization;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
final class ModelArgs {
    @Option(names = "--model", required = true, description = "Model folder (config.json, safetensors, qwen.tiktoken).")
    Path model;

    @Option(names = "--dtype", defaultValue = "bf16", description = "Compute dtype: bf16 (default, fastest on CPU), fp32, fp16.")
    String dtype;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N, or a list such as cuda:0,cuda:1 "
            + "(the decoder layers split evenly across them).")
    String device;

    @Option(names = "--kernel", description = "One linear kernel for every step: PLAIN, GEMV, ONEDNN_PREPACKED, INT8_FBGEMM "
            + "or INT4_PACKED (overrides --kernel-policy).")
    LinearKernel kernel;

    @Option(names = "--kernel-policy", description = "Per-step kernel choice by tokens in the step, e.g. "
            + "'1:GEMV,*:ONEDNN_PREPACKED' (default: the device's; see README).")
    String kernelPolicy;

    @Option(names = "--quantize", defaultValue = "none", description = "Weight quantization at load: none or int8 "
            + "(per output channel, fbgemm kernels, CPU). GPTQ Int4 checkpoints are recognised without it.")
    String quantize;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch intra-op threads (default 0: every "
            + "processor this process may run on).")
    int threads;

    ModelOptions options() {
        return new ModelOptions(Precision.parse(dtype), device, kernel, true, Quantization.parse(quantize),
                kernelPolicy == null ? null : KernelPolicy.parse(kernelPolicy), threads);
    }

    LoadedModel load() {
        return LoadedModel.load(model, options());
    }
}
