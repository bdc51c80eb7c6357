package io.qwenserve.engine.cli;

import io.qwenserve.engine.train.LoraMerger;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/qwen merge-lora}: base + PEFT LoRA adapter -> one plain checkpoint. */
@Command(name = "merge-lora", description = "Merge a PEFT LoRA adapter into its base model: W' = W + (alpha/r) B A.")
final class MergeLoraCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Base model folder (float or GPTQ Int4).")
    Path model;

    @Option(names = "--adapter", required = true, description = "Adapter folder (adapter_config.json, adapter_model.safetensors).")
    Path adapter;

    @Option(names = "--out", required = true, description = "Output model folder.")
    Path out;

    @Override
    public Integer call() {
        int n = LoraMerger.merge(model, adapter, out);
        System.err.println("merged " + n + " adapted linears into " + out);
        return 0;
    }
}
