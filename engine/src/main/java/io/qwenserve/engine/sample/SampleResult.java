package io.qwenserve.engine.sample;

/**
 * One sampled token.
 *
 * @param logprob     log probability of {@code token} under the model's raw distribution (NaN when not asked for)
 * @param topIds      the top-n alternatives (empty when not asked for)
 * @param topLogprobs their log probabilities
 */
public record SampleResult(int token, float logprob, int[] topIds, float[] topLogprobs) {
    private static final int[] NO_IDS = new int[0];
    private static final float[] NO_LOGPROBS = new float[0];

    public static SampleResult of(int token) {
        return new SampleResult(token, Float.NaN, NO_IDS, NO_LOGPROBS);
    }
}
