package io.qwenserve.service.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** What {@code POST /v1/chat/completions} answers: a whole {@link Completion} or, streamed, {@link Chunk}s. */
public final class ChatCompletionResponse {
    private ChatCompletionResponse() {
    }

    /** {@code object: "chat.completion"}. */
    public record Completion(String id, String object, long created, String model, List<Choice> choices, Usage usage) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Choice(int index, AssistantMessage message, Logprobs logprobs, String finishReason) {}

    /** The answer; {@code content} is null when the model only called a function. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record AssistantMessage(String role, String content,
                                   @JsonInclude(JsonInclude.Include.NON_NULL) List<ToolCall> toolCalls,
                                   @JsonInclude(JsonInclude.Include.NON_NULL) FunctionCall functionCall) {}

    /** {@code object: "chat.completion.chunk"}; the last chunk of a stream with {@code include_usage} has no choices. */
    public record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices,
                        @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ChunkChoice(int index, Delta delta, Logprobs logprobs, String finishReason) {}

    /** What a chunk adds to its choice's message; absent fields are left out. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content, List<ToolCall> toolCalls, FunctionCall functionCall) {}

    /** {@code index} is set in streamed chunks only. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ToolCall(Integer index, String id, String type, FunctionCall function) {}

    public record FunctionCall(String name, String arguments) {}

    public record Logprobs(List<TokenLogprob> content) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TokenLogprob(String token, double logprob, int[] bytes, List<TopLogprob> topLogprobs) {}

    public record TopLogprob(String token, double logprob, int[] bytes) {}
}
