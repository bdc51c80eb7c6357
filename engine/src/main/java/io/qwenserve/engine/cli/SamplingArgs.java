package io.qwenserve.engine.cli;

import io.qwenserve.engine.api.SamplingOptions;
import picocli.CommandLine.Option;

/** Decoding options; unset ones take the engine's defaults (the model's generation_config.json). */
final class SamplingArgs {
    @Option(names = "--max-new-tokens", description = "Most tokens to generate (default: the model's max_new_tokens).")
    Integer maxNewTokens;

    @Option(names = "--temperature", description = "0 = greedy (default: the model's).")
    Double temperature;

    @Option(names = "--top-p", description = "Nucleus sampling mass (default: the model's).")
    Double topP;

    @Option(names = "--top-k", description = "0 = off (default: the model's).")
    Integer topK;

    @Option(names = "--repetition-penalty", description = "Hugging Face repetition penalty (default: the model's).")
    Double repetitionPenalty;

    @Option(names = "--seed", description = "Random seed for sampling.")
    Long seed;

    /** The options given on the command line; the rest stay unset. */
    SamplingOptions options() {
        return SamplingOptions.builder().maxTokens(maxNewTokens).temperature(temperature).topP(topP).topK(topK)
                .repetitionPenalty(repetitionPenalty).seed(seed).build();
    }
}
