package io.qwenserve.engine.cli;

import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.train.FinetuneBench;
import io.qwenserve.engine.train.FinetuneMethod;
import io.qwenserve.engine.train.FinetuneOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/qwen finetune-bench}: training tokens/s and peak RSS of one method (one process per method). */
@Command(name = "finetune-bench", description = "Time the trainer on synthetic sequences (nothing is written); prints one "
        + "JSON line: tokens_per_second over the timed steps, peak_rss_mb of this process. bin/bench-finetune compares "
        + "methods.")
final class FinetuneBenchCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model folder.")
    Path model;

    @Option(names = "--method", required = true, description = "full, lora or qlora.")
    String method;

    @Option(names = "--seq-len", defaultValue = "256", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--batch-size", defaultValue = "2", description = "Sequences per step (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--steps", defaultValue = "3", description = "Timed optimizer steps after one warmup step (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--dtype", defaultValue = "bf16", description = "Compute dtype (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--lora-r", defaultValue = "64", description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int loraR;

    @Option(names = "--threads", description = "libtorch threads (default: the available processors).")
    Integer threads;

    @Override
    public Integer call() {
        FinetuneMethod m = FinetuneMethod.parse(method);
        FinetuneOptions d = FinetuneOptions.defaults(m);
        FinetuneOptions o = d.withLora(loraR, d.loraAlpha(), d.loraDropout(), List.of()).withBatching(seqLen, batchSize, 1)
                .withRuntime(d.seed(), Precision.parse(dtype), threads != null ? threads : d.threads());
        System.out.println(FinetuneBench.run(model, o, seqLen, steps).toJson());
        return 0;
    }
}
