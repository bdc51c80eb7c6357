package io.qwenserve.engine.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.global.torch;

/**
 * The training loop: each epoch shuffles the examples (seeded by the run's seed and the epoch, so a resumed run sees the
 * same order), cuts them into micro-batches of {@code batchSize}, and takes one AdamW step every {@code gradAccum}
 * micro-batches (and at the end of an epoch): gradients unscaled (fp16), clipped to {@code maxGradNorm}, learning rate
 * from the {@link LrSchedule}. The loss of a step is the mean cross-entropy over its target tokens.
 */
public final class Trainer {
    /** Called after each epoch, with the optimizer steps taken so far. */
    public interface EpochListener {
        void epochDone(int epoch, int globalStep);
    }

    /** One optimizer step, as logged: its real (unpadded) tokens and wall time too. */
    public record StepLog(int step, int epoch, double loss, double lr, double gradNorm, boolean skipped, long tokens,
                          double seconds) {}

    private final TrainModel model;
    private final TrainableParams params;
    private final FinetuneOptions opts;
    private final List<ChatLayout.Example> examples;
    private final ProgressBarFactory progress;
    private final LayerwiseBackprop backprop;
    private final SlicedAdamW optimizer;
    private final org.bytedeco.pytorch.TensorVector all;
    private final LrSchedule schedule;
    private final List<StepLog> log = new ArrayList<>();
    private LossScaler scaler;
    private ProgressBar bar;

    /** Makes the progress bar once the first step is known. */
    public interface ProgressBarFactory {
        ProgressBar create(int totalSteps, int epochs, int firstStep);
    }

    public Trainer(TrainModel model, TrainableParams params, FinetuneOptions opts, List<ChatLayout.Example> examples,
                   ProgressBarFactory progress) {
        this.model = model;
        this.params = params;
        this.opts = opts;
        this.examples = List.copyOf(examples);
        this.progress = progress;
        this.backprop = new LayerwiseBackprop(model);
        this.schedule = LrSchedule.of(opts.lr(), totalSteps(), opts.warmupRatio());
        this.scaler = new LossScaler(opts.dtype() == io.qwenserve.engine.model.Precision.F16);
        this.optimizer = new SlicedAdamW(params, opts.adamBeta1(), opts.adamBeta2(), opts.adamEps(), opts.weightDecay());
        this.all = params.tensors();
    }

    public int microBatchesPerEpoch() {
        return (examples.size() + opts.batchSize() - 1) / opts.batchSize();
    }

    public int stepsPerEpoch() {
        return (microBatchesPerEpoch() + opts.gradAccum() - 1) / opts.gradAccum();
    }

    public int totalSteps() {
        return stepsPerEpoch() * opts.epochs();
    }

    public List<StepLog> log() {
        return Collections.unmodifiableList(log);
    }

    public LossScaler scaler() {
        return scaler;
    }

    /** Continues from a checkpoint: the optimizer state, the loss scaler and the log so far. */
    public void resume(Path optimizerState, LossScaler scaler, List<StepLog> previous) {
        optimizer.load(optimizerState);
        this.scaler = scaler;
        log.addAll(previous);
    }

    /** Prints a message between progress lines. */
    public void note(String text) {
        if (bar != null) {
            bar.message(text);
        }
    }

    public void saveOptimizer(Path file) {
        optimizer.save(file);
    }

    /** Trains epochs {@code firstEpoch}..{@code epochs} (1-based); returns the tokens per second of this run. */
    public double train(int firstEpoch, EpochListener listener) {
        int step = (firstEpoch - 1) * stepsPerEpoch();
        bar = progress.create(totalSteps(), opts.epochs(), step);
        for (int epoch = firstEpoch; epoch <= opts.epochs(); epoch++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < examples.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(opts.seed() * 1_000_003L + epoch));
            int micro = 0;
            while (micro < microBatchesPerEpoch()) {
                int groupEnd = Math.min(microBatchesPerEpoch(), micro + opts.gradAccum());
                List<List<ChatLayout.Example>> group = new ArrayList<>();
                for (int m = micro; m < groupEnd; m++) {
                    List<ChatLayout.Example> batch = new ArrayList<>();
                    for (int i = m * opts.batchSize(); i < Math.min(order.size(), (m + 1) * opts.batchSize()); i++) {
                        batch.add(examples.get(order.get(i)));
                    }
                    group.add(batch);
                }
                StepLog s = step(epoch, step, micro, group, bar);
                log.add(s);
                micro = groupEnd;
                step++;
            }
            listener.epochDone(epoch, step);
        }
        return bar.tokensPerSecond();
    }

    private StepLog step(int epoch, int step, int firstMicro, List<List<ChatLayout.Example>> group, ProgressBar bar) {
        long targets = group.stream().flatMap(List::stream).mapToLong(ChatLayout.Example::targets).sum();
        long tokens = group.stream().flatMap(List::stream).mapToLong(e -> e.ids().length).sum();
        double lr = schedule.at(step);
        long start = System.nanoTime();
        if (targets == 0) {
            bar.step(epoch, step + 1, 0, lr, tokens, "(no target tokens: step skipped)");
            return new StepLog(step + 1, epoch, Double.NaN, lr, 0, true, tokens, 0);
        }
        double lossSum = 0;
        for (int m = 0; m < group.size(); m++) {
            try (MicroBatch b = MicroBatch.of(group.get(m), model.device())) {
                long dropoutSeed = opts.seed() * 1_000_003L + (long) epoch * 1_000_000L + firstMicro + m;
                lossSum += backprop.run(b.ids(), b.rows(), b.targets(), targets, scaler.scale(), dropoutSeed);
            }
        }
        params.unscale(scaler.scale());
        double norm = torch.clip_grad_norm_(all, opts.maxGradNorm()); // the norm before clipping; inf or NaN: no step
        boolean apply = scaler.update(Double.isFinite(norm));
        if (apply) {
            optimizer.step(lr);
        }
        params.zeroGrad();
        double loss = lossSum / targets;
        double seconds = (System.nanoTime() - start) / 1e9;
        bar.step(epoch, step + 1, loss, lr, tokens, apply ? null : "(gradients not finite: step skipped, loss scale "
                + scaler.scale() + ")");
        return new StepLog(step + 1, epoch, loss, lr, norm, !apply, tokens, seconds);
    }
}
