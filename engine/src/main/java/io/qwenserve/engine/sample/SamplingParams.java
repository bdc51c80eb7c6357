package io.qwenserve.engine.sample;

import java.util.List;
import java.util.Set;

/**
 * Per-request decoding parameters. Validated at construction, so an instance is always usable.
 *
 * @param temperature       0 means greedy
 * @param topP              nucleus mass in (0, 1]; 1 disables
 * @param topK              0 disables
 * @param repetitionPenalty Hugging Face semantics over prompt and output ids; 1 disables
 * @param presencePenalty   OpenAI semantics over output ids, in [-2, 2]
 * @param frequencyPenalty  OpenAI semantics over output ids, in [-2, 2]
 * @param seed              null for a random seed; the same seed gives the same output whatever shares the batch
 * @param maxTokens         most tokens to generate (at least 1)
 * @param stop              stop strings: generation ends before the first occurrence, which is never emitted
 * @param stopIds           extra stop token ids (the chat template's and the model's end ids are added by the engine)
 * @param logprobs          top-n log probabilities to return per token (0..20); 0 returns none
 */
public record SamplingParams(double temperature, double topP, int topK, double repetitionPenalty, double presencePenalty,
                             double frequencyPenalty, Long seed, int maxTokens, List<String> stop, Set<Integer> stopIds,
                             int logprobs) {

    public static final int MAX_LOGPROBS = 20;

    public SamplingParams {
        stop = List.copyOf(stop);
        stopIds = Set.copyOf(stopIds);
        check(temperature >= 0 && Double.isFinite(temperature), "temperature", "must be >= 0");
        check(topP > 0 && topP <= 1, "top_p", "must be in (0, 1]");
        check(topK >= 0, "top_k", "must be >= 0");
        check(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty), "repetition_penalty", "must be > 0");
        check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", "must be in [-2, 2]");
        check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", "must be in [-2, 2]");
        check(maxTokens >= 1, "max_tokens", "must be >= 1");
        check(logprobs >= 0 && logprobs <= MAX_LOGPROBS, "logprobs", "must be in [0, " + MAX_LOGPROBS + "]");
        for (String s : stop) {
            check(s != null && !s.isEmpty(), "stop", "entries must be non-empty strings");
        }
    }

    private static void check(boolean ok, String field, String rule) {
        if (!ok) {
            throw new InvalidParameterException(field, field + " " + rule);
        }
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 1, 0, 1, 0, 0, null, maxTokens, List.of(), Set.of(), 0);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public boolean hasPenalties() {
        return repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0;
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public static Builder builder() {
        return new Builder(greedy(256));
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private double temperature;
        private double topP;
        private int topK;
        private double repetitionPenalty;
        private double presencePenalty;
        private double frequencyPenalty;
        private Long seed;
        private int maxTokens;
        private List<String> stop;
        private Set<Integer> stopIds;
        private int logprobs;

        private Builder(SamplingParams p) {
            temperature = p.temperature;
            topP = p.topP;
            topK = p.topK;
            repetitionPenalty = p.repetitionPenalty;
            presencePenalty = p.presencePenalty;
            frequencyPenalty = p.frequencyPenalty;
            seed = p.seed;
            maxTokens = p.maxTokens;
            stop = p.stop;
            stopIds = p.stopIds;
            logprobs = p.logprobs;
        }

        public Builder temperature(double v) { temperature = v; return this; }
        public Builder topP(double v) { topP = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder repetitionPenalty(double v) { repetitionPenalty = v; return this; }
        public Builder presencePenalty(double v) { presencePenalty = v; return this; }
        public Builder frequencyPenalty(double v) { frequencyPenalty = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder maxTokens(int v) { maxTokens = v; return this; }
        public Builder stop(List<String> v) { stop = v; return this; }
        public Builder stopIds(Set<Integer> v) { stopIds = v; return this; }
        public Builder logprobs(int v) { logprobs = v; return this; }

        public SamplingParams build() {
            return new SamplingParams(temperature, topP, topK, repetitionPenalty, presencePenalty, frequencyPenalty, seed,
                    maxTokens, stop, stopIds, logprobs);
        }
    }
}
