package io.qwenserve.engine.sample;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One request's sampling state: its parameters, its own random stream (so a seed fixes the output whatever else
 * shares the batch) and the token history the penalties need.
 */
public final class SequenceSampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final Set<Integer> promptIds = new HashSet<>();
    private final Map<Integer, Integer> outputCounts = new HashMap<>();

    public SequenceSampler(SamplingParams params, int[] prompt) {
        this.params = params;
        this.random = new SplittableRandom(params.seed() != null ? params.seed() : System.nanoTime() ^ Thread.currentThread().getId());
        if (params.repetitionPenalty() != 1) {
            for (int id : prompt) {
                promptIds.add(id);
            }
        }
    }

    public SamplingParams params() {
        return params;
    }

    /** Records a generated token (for the penalties). */
    public void accept(int token) {
        if (params.hasPenalties()) {
            outputCounts.merge(token, 1, Integer::sum);
        }
    }

    /** The next uniform draw in [0, 1). One per sampled step. */
    double nextUniform() {
        return random.nextDouble();
    }

    /** Distinct ids the repetition penalty applies to (prompt and output). */
    Set<Integer> repetitionIds() {
        Set<Integer> ids = new HashSet<>(promptIds);
        ids.addAll(outputCounts.keySet());
        return ids;
    }

    Map<Integer, Integer> outputCounts() {
        return outputCounts;
    }
}
