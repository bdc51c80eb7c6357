package io.qwenserve.service.openai;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * The body of {@code POST /v1/completions} (raw text completion, for base models). {@code prompt} is a string, a list
 * of strings, a list of token ids or a list of such lists; unknown fields are ignored.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionRequest(
        String model,
        JsonNode prompt,
        Double temperature,
        Double topP,
        Integer topK,
        Integer maxTokens,
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
        Integer n,
        Long seed,
        Double presencePenalty,
        Double frequencyPenalty,
        Double repetitionPenalty,
        Integer logprobs,
        Boolean echo,
        Boolean stream,
        ChatCompletionRequest.StreamOptions streamOptions,
        JsonNode responseFormat,
        JsonNode structuredOutputs) {}
