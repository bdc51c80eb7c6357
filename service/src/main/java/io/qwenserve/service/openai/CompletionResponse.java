package io.qwenserve.service.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;

/**
 * What {@code POST /v1/completions} answers: {@code object: "text_completion"}, whole or streamed (each chunk has the
 * same shape, with the new text of one choice; the last chunk of a stream with {@code include_usage} has no choices).
 */
public record CompletionResponse(String id, String object, long created, String model, List<Choice> choices,
                                 @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Choice(int index, String text, Logprobs logprobs, String finishReason) {}

    /** The legacy completions logprobs: parallel lists, one entry per generated token. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Logprobs(List<String> tokens, List<Double> tokenLogprobs, List<Map<String, Double>> topLogprobs,
                           List<Integer> textOffset) {}
}
