package io.qwenserve.engine.train;

import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.GptqConfig;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.global.torch;

/**
 * Training throughput of one method on one model, without writing anything: {@code steps + 1} optimizer steps of the
 * real trainer over synthetic examples (random ids; the first half of each sequence a prompt the loss ignores, the
 * second half learned), the first step a warmup that is not timed. Tokens per second = real tokens of the timed steps
 * over their wall time (forward, layer recompute, backward, clipping, AdamW). Peak RSS is the process's VmHWM at the
 * end, so run one method per process.
 */
public final class FinetuneBench {
    /** What one run measured. */
    public record Result(String method, long trainedValues, int steps, long tokens, double seconds, double tokensPerSecond,
                         long peakRssBytes, int threads, String dtype, int seqLen, int batchSize) {
        public String toJson() {
            return String.format(java.util.Locale.ROOT,
                    "{\"method\": \"%s\", \"trained_values\": %d, \"timed_steps\": %d, \"tokens\": %d, \"seconds\": %.3f, "
                            + "\"tokens_per_second\": %.2f, \"peak_rss_mb\": %d, \"threads\": %d, \"dtype\": \"%s\", "
                            + "\"seq_len\": %d, \"batch_size\": %d}", method, trainedValues, steps, tokens, seconds,
                    tokensPerSecond, peakRssBytes >> 20, threads, dtype, seqLen, batchSize);
        }
    }

    private FinetuneBench() {}

    public static Result run(Path model, FinetuneOptions o, int seqLen, int steps) {
        TorchRuntime.init(o.threads()); // first: it sets JavaCPP up before any libtorch call
        ModelConfig cfg = ModelConfig.load(model);
        boolean gptq = GptqConfig.load(model) != null;
        List<ChatLayout.Example> examples = synthetic(cfg, seqLen, (steps + 1) * o.batchSize() * o.gradAccum(), o.seed());
        FinetuneOptions one = o.withSchedule(o.lr(), 1, 0);
        try (TrainModel m = TrainModelLoader.load(model, o.dtype().scalarType(), Torch.device("cpu"), o.method() == FinetuneMethod.FULL)) {
            if (gptq != (o.method() == FinetuneMethod.QLORA)) {
                throw new IllegalArgumentException("--method " + o.method().cliName() + " does not fit " + model
                        + (gptq ? " (a GPTQ checkpoint: qlora)" : " (a float checkpoint: full or lora)"));
            }
            TrainableParams params;
            if (o.method() == FinetuneMethod.FULL) {
                params = TrainableParams.full(m);
            } else {
                List<String> targets = o.targetModules().isEmpty() ? LoraModules.defaultTargets(cfg.architecture()) : o.targetModules();
                List<LoraModules.Module> picked = LoraModules.select(cfg, targets);
                torch.manual_seed(o.seed());
                for (TrainLinear lin : m.linears()) {
                    if (picked.stream().anyMatch(p -> p.name().equals(lin.name()))) {
                        lin.attach(LoraPair.init(lin.in(), lin.out(), o.loraR(), o.loraScale(), o.loraDropout()));
                    }
                }
                params = TrainableParams.lora(m);
            }
            Trainer trainer = new Trainer(m, params, one, examples, (total, epochs, first) -> new ProgressBar(null, false, total, epochs, first));
            trainer.train(1, (epoch, step) -> { });
            List<Trainer.StepLog> timed = trainer.log().subList(1, trainer.log().size());
            long tokens = timed.stream().mapToLong(Trainer.StepLog::tokens).sum();
            double seconds = timed.stream().mapToDouble(Trainer.StepLog::seconds).sum();
            return new Result(o.method().cliName(), params.count(), timed.size(), tokens, seconds, tokens / seconds,
                    Memory.peakRssBytes(), o.threads(), o.dtype().cliName(), seqLen, o.batchSize());
        }
    }

    /** {@code n} sequences of {@code seqLen} random ids; the second half of each is the learned reply. */
    static List<ChatLayout.Example> synthetic(ModelConfig cfg, int seqLen, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ChatLayout.Example> out = new ArrayList<>(n);
        int vocab = Math.min(cfg.vocabSize(), 151643);
        for (int i = 0; i < n; i++) {
            int[] ids = r.ints(seqLen, 0, vocab).toArray();
            int[] labels = ids.clone();
            java.util.Arrays.fill(labels, 0, seqLen / 2, ChatLayout.IGNORE);
            out.add(new ChatLayout.Example("bench-" + i, ids, labels));
        }
        return out;
    }
}
