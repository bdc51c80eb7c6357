package io.qwenserve.engine.cli;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.model.LinearKernel;
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

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--kernel", description = "Linear kernel override: PLAIN or ONEDNN_PREPACKED.")
    LinearKernel kernel;

    ModelOptions options() {
        return new ModelOptions(Precision.parse(dtype), device, kernel, true);
    }

    LoadedModel load() {
        return LoadedModel.load(model, options());
    }
}
