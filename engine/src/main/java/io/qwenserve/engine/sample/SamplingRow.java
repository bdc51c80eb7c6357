package io.qwenserve.engine.sample;

/**
 * What the sampler needs to pick one sequence's next token, as a value: the parameters, this step's uniform draw
 * from the sequence's own random stream, and the token history the penalties read.
 *
 * @param uniform       the draw in [0, 1) for a sampled (non-greedy) row
 * @param repetitionIds distinct prompt and output ids the repetition penalty applies to (empty when it is off)
 * @param outputIds     distinct output ids, with {@code outputCounts}, for the presence/frequency penalties (empty
 *                      when both are off)
 */
public record SamplingRow(SamplingParams params, double uniform, int[] repetitionIds, int[] outputIds, int[] outputCounts) {
    private static final int[] NONE = new int[0];

    /** A row without history: no penalties apply. */
    public static SamplingRow of(SamplingParams params, double uniform) {
        return new SamplingRow(params, uniform, NONE, NONE, NONE);
    }
}
