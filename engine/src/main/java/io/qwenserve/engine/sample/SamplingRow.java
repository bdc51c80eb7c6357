package io.qwenserve.engine.sample;

import io.qwenserve.engine.structured.TokenMask;

/**
 * What the sampler needs to pick one sequence's next token, as a value: the parameters, this step's uniform draw
 * from the sequence's own random stream, the token history the penalties read, and for a constrained sequence the
 * tokens its response format allows.
 *
 * @param uniform       the draw in [0, 1) for a sampled (non-greedy) row
 * @param repetitionIds distinct prompt and output ids the repetition penalty applies to (empty when it is off)
 * @param outputIds     distinct output ids, with {@code outputCounts}, for the presence/frequency penalties (empty
 *                      when both are off)
 * @param mask          the tokens a response format allows next, or null when the output is free
 * @param endIds        the ids that end the sequence, allowed by a mask where its output is complete
 */
public record SamplingRow(SamplingParams params, double uniform, int[] repetitionIds, int[] outputIds, int[] outputCounts,
                          TokenMask mask, int[] endIds) {
    private static final int[] NONE = new int[0];

    /** A free row. */
    public SamplingRow(SamplingParams params, double uniform, int[] repetitionIds, int[] outputIds, int[] outputCounts) {
        this(params, uniform, repetitionIds, outputIds, outputCounts, null, NONE);
    }

    /** A row without history: no penalties apply. */
    public static SamplingRow of(SamplingParams params, double uniform) {
        return new SamplingRow(params, uniform, NONE, NONE, NONE);
    }

    /** This row, constrained to {@code mask}. */
    public SamplingRow withMask(TokenMask mask, int[] endIds) {
        return new SamplingRow(params, uniform, repetitionIds, outputIds, outputCounts, mask, endIds);
    }
}
