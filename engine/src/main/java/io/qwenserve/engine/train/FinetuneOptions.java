package io.qwenserve.engine.train;

import io.qwenserve.engine.model.Precision;
import java.util.List;

/**
 * Hyperparameters of one finetuning run. {@link #defaults} gives those of the Qwen repository's finetune scripts:
 * 5 epochs, {@code model_max_length} 512, warmup ratio 0.01 then cosine decay, AdamW with weight decay 0.1 and betas
 * (0.9, 0.95), eps 1e-8, gradient clipping at norm 1.0 (the Trainer's default), seed 42, LoRA r 64, alpha 16, dropout
 * 0.05; learning rate, batch size, accumulation and dtype per {@link FinetuneMethod}.
 *
 * @param targetModules LoRA target module names (PEFT's suffix match); empty: the architecture's default
 * @param dtype         compute dtype of the forward and backward passes; trained weights keep fp32 master copies
 * @param threads       libtorch intra-op threads
 * @param saveEvery     epochs between checkpoints (the last epoch always gets one)
 */
public record FinetuneOptions(FinetuneMethod method, int loraR, double loraAlpha, double loraDropout,
                              List<String> targetModules, double lr, int epochs, int maxLen, int batchSize, int gradAccum,
                              double warmupRatio, long seed, Precision dtype, double weightDecay, double adamBeta1,
                              double adamBeta2, double adamEps, double maxGradNorm, int threads, int saveEvery) {

    public FinetuneOptions {
        targetModules = List.copyOf(targetModules);
        check(loraR > 0, "--lora-r must be positive, got " + loraR);
        check(loraAlpha > 0, "--lora-alpha must be positive, got " + loraAlpha);
        check(loraDropout >= 0 && loraDropout < 1, "--lora-dropout must be in [0, 1), got " + loraDropout);
        check(lr > 0, "--lr must be positive, got " + lr);
        check(epochs > 0, "--epochs must be positive, got " + epochs);
        check(maxLen >= 2, "--max-len must be at least 2, got " + maxLen);
        check(batchSize > 0, "--batch-size must be positive, got " + batchSize);
        check(gradAccum > 0, "--grad-accum must be positive, got " + gradAccum);
        check(warmupRatio >= 0 && warmupRatio <= 1, "--warmup-ratio must be in [0, 1], got " + warmupRatio);
        check(threads > 0, "--threads must be positive, got " + threads);
        check(saveEvery > 0, "--save-every must be positive, got " + saveEvery);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The finetune scripts' settings for {@code method}. */
    public static FinetuneOptions defaults(FinetuneMethod method) {
        return new FinetuneOptions(method, 64, 16, 0.05, List.of(), method.defaultLr(), 5, 512, method.defaultBatchSize(),
                method.defaultGradAccum(), 0.01, 42, method.defaultDtype(), 0.1, 0.9, 0.95, 1e-8, 1.0,
                Runtime.getRuntime().availableProcessors(), 1);
    }

    /** LoRA scale applied to B A. */
    public double loraScale() {
        return loraAlpha / loraR;
    }

    public FinetuneOptions withLora(int r, double alpha, double dropout, List<String> targets) {
        return new FinetuneOptions(method, r, alpha, dropout, targets, lr, epochs, maxLen, batchSize, gradAccum, warmupRatio,
                seed, dtype, weightDecay, adamBeta1, adamBeta2, adamEps, maxGradNorm, threads, saveEvery);
    }

    public FinetuneOptions withSchedule(double lr, int epochs, double warmupRatio) {
        return new FinetuneOptions(method, loraR, loraAlpha, loraDropout, targetModules, lr, epochs, maxLen, batchSize, gradAccum,
                warmupRatio, seed, dtype, weightDecay, adamBeta1, adamBeta2, adamEps, maxGradNorm, threads, saveEvery);
    }

    public FinetuneOptions withBatching(int maxLen, int batchSize, int gradAccum) {
        return new FinetuneOptions(method, loraR, loraAlpha, loraDropout, targetModules, lr, epochs, maxLen, batchSize, gradAccum,
                warmupRatio, seed, dtype, weightDecay, adamBeta1, adamBeta2, adamEps, maxGradNorm, threads, saveEvery);
    }

    public FinetuneOptions withSaveEvery(int epochs) {
        return new FinetuneOptions(method, loraR, loraAlpha, loraDropout, targetModules, lr, this.epochs, maxLen, batchSize,
                gradAccum, warmupRatio, seed, dtype, weightDecay, adamBeta1, adamBeta2, adamEps, maxGradNorm, threads, epochs);
    }

    public FinetuneOptions withRuntime(long seed, Precision dtype, int threads) {
        return new FinetuneOptions(method, loraR, loraAlpha, loraDropout, targetModules, lr, epochs, maxLen, batchSize, gradAccum,
                warmupRatio, seed, dtype, weightDecay, adamBeta1, adamBeta2, adamEps, maxGradNorm, threads, saveEvery);
    }
}
