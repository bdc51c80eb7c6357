package io.qwenserve.engine.cli;

import io.qwenserve.engine.config.GenerationDefaults;
import io.qwenserve.engine.sample.SamplingParams;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** Decoding options; unset ones take the model's generation_config.json defaults. */
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

    SamplingParams params(GenerationDefaults d) {
        return new SamplingParams(temperature != null ? temperature : d.temperature(), topP != null ? topP : d.topP(),
                topK != null ? topK : d.topK(), repetitionPenalty != null ? repetitionPenalty : d.repetitionPenalty(), 0, 0,
                seed, maxNewTokens != null ? maxNewTokens : d.maxNewTokens(), List.of(), Set.of(), 0);
    }
}
