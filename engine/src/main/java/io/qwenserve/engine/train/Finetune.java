package io.qwenserve.engine.train;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.GptqConfig;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code bin/qwen finetune}: reads the data and the base checkpoint, trains, and writes a checkpoint per epoch
 * ({@code OUT/checkpoint-epoch-N}) and the result into {@code OUT}: a PEFT adapter folder ({@code lora}, {@code qlora})
 * or a model folder the engine loads ({@code full}). {@code resume} continues from the newest epoch checkpoint of
 * {@code OUT}, which must have been made with the same settings and data.
 */
public final class Finetune {
    /** What a run did. {@code log} covers every step, including those before a resume. */
    public record Result(Path out, List<Trainer.StepLog> log, double tokensPerSecond, long trainedValues) {
        public double firstLoss() {
            return log.stream().filter(s -> !s.skipped()).mapToDouble(Trainer.StepLog::loss).findFirst().orElse(Double.NaN);
        }

        public double lastLoss() {
            return log.stream().filter(s -> !s.skipped()).mapToDouble(Trainer.StepLog::loss).reduce((a, b) -> b)
                    .orElse(Double.NaN);
        }
    }

    private Finetune() {}

    public static Result run(Path model, Path data, Path out, FinetuneOptions opts, boolean resume, String device,
                             PrintStream progress, boolean terminal) {
        TorchRuntime.init(opts.threads()); // first: it sets JavaCPP up before any libtorch call
        ModelConfig cfg = ModelConfig.load(model);
        boolean gptq = GptqConfig.load(model) != null;
        if (opts.method() == FinetuneMethod.QLORA && !gptq) {
            throw new IllegalArgumentException("--method qlora trains over a GPTQ Int4 checkpoint (quantize_config.json); "
                    + model + " is a float checkpoint: use --method lora");
        }
        if (opts.method() != FinetuneMethod.QLORA && gptq) {
            throw new IllegalArgumentException(model + " is a GPTQ Int4 checkpoint: its weights stay int4 and frozen, so train "
                    + "it with --method qlora");
        }
        List<String> targets = opts.targetModules().isEmpty() ? LoraModules.defaultTargets(cfg.architecture())
                : opts.targetModules();
        List<ChatLayout.Example> examples = examples(model, data, cfg, opts, progress);
        Checkpoints checkpoints = new Checkpoints(out);
        TrainState state = resume ? checkpoints.latest() : null;
        String settings = TrainState.settings(opts, opts.method().lora() ? targets : List.of());
        String sha = sha256(data);
        if (state != null) {
            if (!state.settings().equals(settings)) {
                throw new IllegalArgumentException("--resume: " + checkpoints.dir(state.epoch()) + " was made with\n  "
                        + state.settings() + "\nbut this run has\n  " + settings);
            }
            if (!state.dataSha256().equals(sha)) {
                throw new IllegalArgumentException("--resume: " + data + " changed since " + checkpoints.dir(state.epoch())
                        + " was written (SHA-256 differs)");
            }
        }
        Device dev = Torch.device(device);
        try (TrainModel m = TrainModelLoader.load(model, opts.dtype().scalarType(), dev, opts.method() == FinetuneMethod.FULL)) {
            TrainableParams params = opts.method() == FinetuneMethod.FULL ? TrainableParams.full(m) : attachLora(m, cfg, opts, targets);
            Trainer trainer = new Trainer(m, params, opts, examples,
                    (total, epochs, first) -> new ProgressBar(progress, terminal, total, epochs, first));
            describe(progress, m, cfg, opts, params, trainer, targets);
            int firstEpoch = 1;
            if (state != null) {
                Path dir = checkpoints.dir(state.epoch());
                params.read(dir.resolve(Checkpoints.TRAINED));
                trainer.resume(dir.resolve(Checkpoints.OPTIMIZER),
                        new LossScaler(opts.dtype() == Precision.F16, state.lossScale(), state.goodSteps()), state.log());
                firstEpoch = state.epoch() + 1;
                print(progress, "resuming from " + dir + " (epoch " + state.epoch() + " of " + opts.epochs() + ", step "
                        + state.globalStep() + ")");
                if (firstEpoch > opts.epochs()) {
                    print(progress, "all " + opts.epochs() + " epochs are done already");
                }
            }
            double tokS = trainer.train(firstEpoch, (epoch, step) -> {
                if (epoch % opts.saveEvery() != 0 && epoch != opts.epochs()) {
                    return;
                }
                TrainState s = new TrainState(epoch, step, trainer.totalSteps(), settings, sha, trainer.scaler().scale(),
                        trainer.scaler().goodSteps(), trainer.log());
                long t0 = System.nanoTime();
                Path dir = checkpoints.save(s, params, trainer, d -> writeResult(model, d, m, cfg, opts, params, targets));
                trainer.note(String.format(Locale.ROOT, "saved %s (%.1f s)", dir.getFileName(), (System.nanoTime() - t0) / 1e9));
            });
            writeResult(model, out, m, cfg, opts, params, targets);
            new TrainState(opts.epochs(), trainer.totalSteps(), trainer.totalSteps(), settings, sha, trainer.scaler().scale(),
                    trainer.scaler().goodSteps(), trainer.log()).write(out);
            print(progress, "wrote " + (opts.method().lora() ? "the LoRA adapter" : "the model") + " to " + out);
            return new Result(out, trainer.log(), tokS, params.count());
        }
    }

    private static List<ChatLayout.Example> examples(Path model, Path data, ModelConfig cfg, FinetuneOptions opts,
                                                     PrintStream progress) {
        List<TrainingData.Conversation> conversations = TrainingData.load(data);
        ChatLayout layout = new ChatLayout(QwenTokenizer.load(model), cfg.architecture());
        List<ChatLayout.Example> examples = new ArrayList<>();
        int cut = 0;
        for (TrainingData.Conversation c : conversations) {
            ChatLayout.Example full = layout.layout(c, Integer.MAX_VALUE);
            cut += full.ids().length > opts.maxLen() ? 1 : 0;
            examples.add(full.ids().length > opts.maxLen() ? layout.layout(c, opts.maxLen()) : full);
        }
        if (cut > 0) {
            print(progress, cut + " of " + examples.size() + " samples are longer than --max-len " + opts.maxLen()
                    + " tokens and were cut");
        }
        return examples;
    }

    private static TrainableParams attachLora(TrainModel m, ModelConfig cfg, FinetuneOptions opts, List<String> targets) {
        List<LoraModules.Module> picked = LoraModules.select(cfg, targets);
        torch.manual_seed(opts.seed());
        for (TrainLinear lin : m.linears()) {
            if (picked.stream().anyMatch(p -> p.name().equals(lin.name()))) {
                lin.attach(LoraPair.init(lin.in(), lin.out(), opts.loraR(), opts.loraScale(), opts.loraDropout()));
            }
        }
        return TrainableParams.lora(m);
    }

    private static void writeResult(Path base, Path dir, TrainModel m, ModelConfig cfg, FinetuneOptions opts,
                                    TrainableParams params, List<String> targets) {
        if (opts.method() == FinetuneMethod.FULL) {
            FullCheckpointWriter.write(base, params, dir);
            return;
        }
        AdapterConfig ac = new AdapterConfig(opts.loraR(), opts.loraAlpha(), opts.loraDropout(), targets,
                base.toAbsolutePath().normalize().toString(), false);
        java.util.Map<String, LoraPair> pairs = new java.util.LinkedHashMap<>();
        for (TrainLinear lin : m.linears()) {
            if (lin.lora() != null) {
                pairs.put(lin.name(), lin.lora());
            }
        }
        new PeftAdapter(ac, pairs).write(dir); // not closed: the pairs belong to the model
    }

    private static void describe(PrintStream out, TrainModel m, ModelConfig cfg, FinetuneOptions opts, TrainableParams params,
                                 Trainer trainer, List<String> targets) {
        long total = 0;
        long int4Bytes = 0;
        int int4 = 0;
        for (TrainLinear lin : m.linears()) {
            total += lin.in() * lin.out();
            if (lin.int4() != null) {
                int4++;
                int4Bytes += lin.int4().bytes();
            }
        }
        total += m.embedding().numel() + (m.lmHead() != m.embedding() ? m.lmHead().numel() : 0);
        print(out, String.format(Locale.ROOT, "finetune: %s of %s (%d layers), %,d trained values (%.3f%% of about %,d)%s",
                opts.method().cliName(), cfg.architecture().hfClass(), cfg.numLayers(), params.count(),
                100.0 * params.count() / total, total, opts.method().lora() ? "; LoRA r " + opts.loraR() + ", alpha "
                        + opts.loraAlpha() + ", dropout " + opts.loraDropout() + " on " + String.join(",", targets) : ""));
        print(out, String.format(Locale.ROOT, "%d epochs x %d steps (batch %d x grad-accum %d), lr %.2e, warmup %.2f then "
                        + "cosine; dtype %s, %d threads", opts.epochs(), trainer.stepsPerEpoch(), opts.batchSize(),
                opts.gradAccum(), opts.lr(), opts.warmupRatio(), opts.dtype().cliName(), opts.threads()));
        if (int4 > 0) {
            print(out, String.format(Locale.ROOT, "base weights stay int4 and frozen: %d GPTQ linears, %,d KiB packed; each "
                    + "layer's are dequantized to %s only while that layer runs", int4, int4Bytes >> 10, opts.dtype().cliName()));
        }
        if (!MallocTuning.applied()) {
            print(out, "note: glibc returns freed memory to the kernel after every step; training runs several times faster "
                    + "started with " + MallocTuning.shell() + " in the environment (bin/qwen sets them)");
        }
        if (opts.dtype() == Precision.F16 && m.device().is_cpu()) {
            print(out, "note: fp16 runs libtorch's slow CPU fp16 kernels (with loss scaling); --dtype bf16 is much faster on CPUs");
        }
    }

    private static void print(PrintStream out, String line) {
        if (out != null) {
            out.println(line);
        }
    }

    static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
