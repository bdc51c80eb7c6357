package io.qwenserve.engine.sample;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One request's sampling state: its parameters, its own random stream (so a seed fixes the output whatever else
 * shares the batch) and the token history the penalties need. Owned by the scheduler; each step it hands the sampler
 * a {@link SamplingRow} value.
 */
public final class SequenceSampler {
    private static final int[] NONE = new int[0];

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

    /** This step's row: draws the next uniform for a sampled row (one per sampled step) and copies the history. */
    public SamplingRow nextRow() {
        double u = params.greedy() ? 0 : random.nextDouble();
        if (!params.hasPenalties()) {
            return SamplingRow.of(params, u);
        }
        int[] rep = NONE;
        if (params.repetitionPenalty() != 1) {
            Set<Integer> ids = new HashSet<>(promptIds);
            ids.addAll(outputCounts.keySet());
            rep = ids.stream().mapToInt(Integer::intValue).toArray();
        }
        int[] outIds = NONE;
        int[] counts = NONE;
        if (params.presencePenalty() != 0 || params.frequencyPenalty() != 0) {
            outIds = new int[outputCounts.size()];
            counts = new int[outIds.length];
            int i = 0;
            for (Map.Entry<Integer, Integer> e : outputCounts.entrySet()) {
                outIds[i] = e.getKey();
                counts[i++] = e.getValue();
            }
        }
        return new SamplingRow(params, u, rep, outIds, counts);
    }
}
