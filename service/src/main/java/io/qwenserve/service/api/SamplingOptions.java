package io.qwenserve.service.api;

import java.util.List;
import java.util.Set;

/**
 * The sampling fields of one request, whatever transport it came by; a null field is unset and takes the server's, then
 * the model's default ({@link RequestMapper#sampling(SamplingOptions, io.qwenserve.engine.config.GenerationDefaults)}).
 */
public record SamplingOptions(Double temperature, Double topP, Integer topK, Integer maxTokens, Double repetitionPenalty,
                              Double presencePenalty, Double frequencyPenalty, Long seed, List<String> stop,
                              Set<Integer> stopTokenIds, int logprobs) {

    public SamplingOptions {
        stop = stop == null ? List.of() : stop;
        stopTokenIds = stopTokenIds == null ? Set.of() : stopTokenIds;
    }

    /** The fields of a {@code qwen.v1.SamplingParams}. */
    public static SamplingOptions of(io.qwenserve.proto.v1.SamplingParams p) {
        return new SamplingOptions(
                p.hasTemperature() ? p.getTemperature() : null,
                p.hasTopP() ? p.getTopP() : null,
                p.hasTopK() ? p.getTopK() : null,
                p.hasMaxTokens() ? p.getMaxTokens() : null,
                p.hasRepetitionPenalty() ? p.getRepetitionPenalty() : null,
                p.hasPresencePenalty() ? p.getPresencePenalty() : null,
                p.hasFrequencyPenalty() ? p.getFrequencyPenalty() : null,
                p.hasSeed() ? p.getSeed() : null,
                p.getStopList(), Set.copyOf(p.getStopTokenIdsList()), p.getLogprobs());
    }
}
