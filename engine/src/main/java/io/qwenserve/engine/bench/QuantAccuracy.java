package io.qwenserve.engine.bench;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.PromptLogits;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Accuracy of a quantized (or otherwise changed) model against a reference load of the same checkpoint: logits at every
 * position of random prompts, compared by top-1 agreement and |Δlogit|, and greedy continuations compared id by id.
 * The two models are loaded one after the other, never together.
 */
public final class QuantAccuracy {

    /**
     * @param positions       prompt positions compared
     * @param top1Agreement   fraction of positions whose argmax agrees
     * @param maxAbsDelta     largest |Δlogit| over all positions and vocabulary entries
     * @param meanAbsDelta    mean |Δlogit|
     * @param referenceSpread mean over positions of (max - min) reference logit, the scale |Δlogit| is read against
     * @param greedyMatched   greedy tokens equal to the reference's before the first difference, summed over prompts
     * @param greedyTotal     greedy tokens generated per model, summed over prompts
     */
    public record Result(int positions, double top1Agreement, double maxAbsDelta, double meanAbsDelta, double referenceSpread,
                         int greedyMatched, int greedyTotal) {}

    private QuantAccuracy() {}

    public static Result compare(Path dir, ModelOptions reference, ModelOptions candidate, int prompts, int promptLen,
                                 int greedyTokens, long seed) {
        int vocabCap = 151851;
        SplittableRandom r = new SplittableRandom(seed);
        int[][] ids = new int[prompts][];
        for (int p = 0; p < prompts; p++) {
            ids[p] = r.ints(promptLen, 0, vocabCap).toArray();
        }
        Run ref = run(dir, reference, ids, greedyTokens);
        Run got = run(dir, candidate, ids, greedyTokens);
        int positions = 0;
        int agree = 0;
        double max = 0;
        double sum = 0;
        long count = 0;
        double spread = 0;
        int matched = 0;
        int total = 0;
        for (int p = 0; p < prompts; p++) {
            for (int t = 0; t < ref.logits[p].length; t++) {
                float[] a = ref.logits[p][t];
                float[] b = got.logits[p][t];
                positions++;
                agree += argmax(a) == argmax(b) ? 1 : 0;
                float lo = Float.MAX_VALUE;
                float hi = -Float.MAX_VALUE;
                for (int v = 0; v < a.length; v++) {
                    double d = Math.abs(a[v] - b[v]);
                    max = Math.max(max, d);
                    sum += d;
                    lo = Math.min(lo, a[v]);
                    hi = Math.max(hi, a[v]);
                }
                count += a.length;
                spread += hi - lo;
            }
            int[] ga = ref.greedy[p];
            int[] gb = got.greedy[p];
            int k = 0;
            while (k < Math.min(ga.length, gb.length) && ga[k] == gb[k]) {
                k++;
            }
            matched += k;
            total += ga.length;
        }
        return new Result(positions, (double) agree / positions, max, sum / count, spread / positions, matched, total);
    }

    private record Run(float[][][] logits, int[][] greedy) {}

    private static Run run(Path dir, ModelOptions options, int[][] ids, int greedyTokens) {
        float[][][] logits = new float[ids.length][][];
        int[][] greedy = new int[ids.length][];
        int maxLen = Arrays.stream(ids).mapToInt(a -> a.length).max().orElse(0) + greedyTokens + 2;
        try (LoadedModel m = LoadedModel.load(dir, options);
             PromptLogits g = new PromptLogits(m.model(), maxLen);
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(maxLen + 16)
                     .withMaxModelLen(maxLen), EngineListener.NONE)) {
            for (int p = 0; p < ids.length; p++) {
                logits[p] = g.logits(ids[p], true);
                greedy[p] = greedyTokens <= 0 ? new int[0]
                        : Completion.read(engine.submit(GenerationRequest.of("greedy-" + p, new Prompt.Ids(ids[p]),
                                SamplingOptions.greedy(greedyTokens).toBuilder().ignoreEos(true).build()))).ids();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return new Run(logits, greedy);
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }
}
