package io.qwenserve.engine.api;

import io.qwenserve.engine.structured.OutputConstraint;
import java.util.List;
import java.util.Set;

/**
 * The sampling fields of one request as its client gave them, whatever transport it came by; a null field is unset.
 * The engine's input processor resolves unset fields (the engine's configured defaults, then the model's
 * generation_config.json) and validates the result into {@link io.qwenserve.engine.sample.SamplingParams}.
 *
 * @param stop         stop strings: generation ends before the first occurrence, which is never emitted
 * @param stopTokenIds extra stop token ids (the chat template's and the model's end ids are always added)
 * @param logprobs     top-n log probabilities to return per token; 0 returns none
 * @param ignoreEos    generate past the model's end-of-sequence ids (only {@code stopTokenIds} and stop strings end it;
 *                     for benchmarks)
 * @param responseFormat what the output must be (JSON, a schema, a regex, a choice, a tool call); null for free text
 */
public record SamplingOptions(Double temperature, Double topP, Integer topK, Integer maxTokens, Double repetitionPenalty,
                              Double presencePenalty, Double frequencyPenalty, Long seed, List<String> stop,
                              Set<Integer> stopTokenIds, int logprobs, boolean ignoreEos, OutputConstraint responseFormat) {

    public static final SamplingOptions DEFAULTS = builder().build();

    public SamplingOptions {
        stop = stop == null ? List.of() : List.copyOf(stop);
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
    }

    /** Without a response format. */
    public SamplingOptions(Double temperature, Double topP, Integer topK, Integer maxTokens, Double repetitionPenalty,
                           Double presencePenalty, Double frequencyPenalty, Long seed, List<String> stop,
                           Set<Integer> stopTokenIds, int logprobs, boolean ignoreEos) {
        this(temperature, topP, topK, maxTokens, repetitionPenalty, presencePenalty, frequencyPenalty, seed, stop,
                stopTokenIds, logprobs, ignoreEos, null);
    }

    /** Plain greedy decoding (argmax, no repetition penalty whatever the model's defaults) of at most {@code maxTokens} tokens. */
    public static SamplingOptions greedy(int maxTokens) {
        return builder().temperature(0.0).repetitionPenalty(1.0).maxTokens(maxTokens).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.temperature = temperature;
        b.topP = topP;
        b.topK = topK;
        b.maxTokens = maxTokens;
        b.repetitionPenalty = repetitionPenalty;
        b.presencePenalty = presencePenalty;
        b.frequencyPenalty = frequencyPenalty;
        b.seed = seed;
        b.stop = stop;
        b.stopIds = stopTokenIds;
        b.logprobs = logprobs;
        b.ignoreEos = ignoreEos;
        b.responseFormat = responseFormat;
        return b;
    }

    /** Mutable builder; a field never set stays unset (null). */
    public static final class Builder {
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Integer maxTokens;
        private Double repetitionPenalty;
        private Double presencePenalty;
        private Double frequencyPenalty;
        private Long seed;
        private List<String> stop = List.of();
        private Set<Integer> stopIds = Set.of();
        private int logprobs;
        private boolean ignoreEos;
        private OutputConstraint responseFormat;

        public Builder temperature(Double v) { temperature = v; return this; }
        public Builder topP(Double v) { topP = v; return this; }
        public Builder topK(Integer v) { topK = v; return this; }
        public Builder maxTokens(Integer v) { maxTokens = v; return this; }
        public Builder repetitionPenalty(Double v) { repetitionPenalty = v; return this; }
        public Builder presencePenalty(Double v) { presencePenalty = v; return this; }
        public Builder frequencyPenalty(Double v) { frequencyPenalty = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder stop(List<String> v) { stop = v; return this; }
        public Builder stopIds(Set<Integer> v) { stopIds = v; return this; }
        public Builder logprobs(int v) { logprobs = v; return this; }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder responseFormat(OutputConstraint v) { responseFormat = v; return this; }

        public SamplingOptions build() {
            return new SamplingOptions(temperature, topP, topK, maxTokens, repetitionPenalty, presencePenalty,
                    frequencyPenalty, seed, stop, stopIds, logprobs, ignoreEos, responseFormat);
        }
    }
}
