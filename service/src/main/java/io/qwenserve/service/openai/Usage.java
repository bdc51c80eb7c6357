package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * Token counts of a response: the prompt once per distinct prompt, the completions of every choice, and (as OpenAI's
 * {@code prompt_tokens_details.cached_tokens}) the prompt tokens served from the prefix cache.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record Usage(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record PromptTokensDetails(int cachedTokens) {}

    public static Usage of(int prompt, int completion, int cachedPrompt) {
        return new Usage(prompt, completion, prompt + completion, new PromptTokensDetails(cachedPrompt));
    }
}
