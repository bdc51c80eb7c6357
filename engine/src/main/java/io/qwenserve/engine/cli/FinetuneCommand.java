package io.qwenserve.engine.cli;

import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.train.Finetune;
import io.qwenserve.engine.train.FinetuneMethod;
import io.qwenserve.engine.train.FinetuneOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen finetune}: full, LoRA or Q-LoRA finetuning on the README's conversation format. Unset options take
 * the defaults of the Qwen repository's finetune scripts for the method.
 */
@Command(name = "finetune", description = {"Finetune a model on a JSON list of conversations (the Qwen README's format).",
        "Defaults are those of the Qwen finetune scripts: full lr 1e-5, batch 1 x grad-accum 16, bf16; lora lr 3e-4, "
                + "batch 2 x 8, bf16; qlora lr 3e-4, batch 2 x 8, fp16."})
final class FinetuneCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Base model folder (a GPTQ Int4 folder for qlora).")
    Path model;

    @Option(names = "--data", required = true, description = "Training data: [{\"id\", \"conversations\": [{\"from\", \"value\"}]}].")
    Path data;

    @Option(names = "--out", required = true, description = "Output folder: the adapter (lora, qlora) or the model (full), "
            + "plus checkpoint-epoch-N/ per epoch.")
    Path out;

    @Option(names = "--method", required = true, description = "full, lora or qlora.")
    String method;

    @Option(names = "--lora-r", defaultValue = "64", description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int loraR;

    @Option(names = "--lora-alpha", defaultValue = "16", description = "LoRA alpha; scale = alpha / r (default ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Option(names = "--lora-dropout", defaultValue = "0.05", description = "Dropout on LoRA inputs (default ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(names = "--target-modules", split = ",", description = "LoRA targets (default: Qwen v1 c_attn,c_proj,w1,w2; "
            + "Qwen2/3 q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj).")
    List<String> targetModules;

    @Option(names = "--lr", description = "Peak learning rate (default: full 1e-5, lora/qlora 3e-4).")
    Double lr;

    @Option(names = "--epochs", defaultValue = "5", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--max-len", defaultValue = "512", description = "Longest training sequence in tokens; longer ones are cut (default ${DEFAULT-VALUE}).")
    int maxLen;

    @Option(names = "--batch-size", description = "Sequences per micro-batch (default: full 1, lora/qlora 2).")
    Integer batchSize;

    @Option(names = "--grad-accum", description = "Micro-batches per optimizer step (default: full 16, lora/qlora 8).")
    Integer gradAccum;

    @Option(names = "--warmup-ratio", defaultValue = "0.01", description = "Share of steps with linear warmup before the cosine decay (default ${DEFAULT-VALUE}).")
    double warmupRatio;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of LoRA init, data order and dropout (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", description = "Compute dtype bf16, fp16 or fp32 (default: full/lora bf16, qlora fp16); "
            + "trained weights keep fp32 master copies.")
    String dtype;

    @Option(names = "--threads", description = "libtorch threads (default: the available processors).")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--save-every", defaultValue = "1", description = "Epochs between checkpoints; the last epoch always "
            + "gets one (default ${DEFAULT-VALUE}: a checkpoint per epoch).")
    int saveEvery;

    @Option(names = "--resume", description = "Continue from the newest checkpoint-epoch-N in --out (same settings and data).")
    boolean resume;

    @Override
    public Integer call() {
        FinetuneMethod m = FinetuneMethod.parse(method);
        FinetuneOptions d = FinetuneOptions.defaults(m);
        FinetuneOptions o = d.withLora(loraR, loraAlpha, loraDropout, targetModules == null ? List.of() : targetModules)
                .withSchedule(lr != null ? lr : d.lr(), epochs, warmupRatio)
                .withBatching(maxLen, batchSize != null ? batchSize : d.batchSize(), gradAccum != null ? gradAccum : d.gradAccum())
                .withRuntime(seed, dtype != null ? Precision.parse(dtype) : d.dtype(), threads != null ? threads : d.threads())
                .withSaveEvery(saveEvery);
        Finetune.Result r = Finetune.run(model, data, out, o, resume, device, System.err, System.console() != null);
        System.out.println(String.format(Locale.ROOT,
                "{\"out\": \"%s\", \"steps\": %d, \"first_loss\": %.6f, \"last_loss\": %.6f, \"tokens_per_second\": %.1f, "
                        + "\"trained_values\": %d}", r.out().toString().replace("\\", "\\\\").replace("\"", "\\\""),
                r.log().size(), r.firstLoss(), r.lastLoss(), r.tokensPerSecond(), r.trainedValues()));
        return 0;
    }
}
