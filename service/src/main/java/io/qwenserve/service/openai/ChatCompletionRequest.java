package io.qwenserve.service.openai;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * The body of {@code POST /v1/chat/completions}. Unknown fields are ignored; {@code top_k} and
 * {@code repetition_penalty} are extensions; {@code functions}/{@code function_call} are the legacy spelling of
 * {@code tools}/{@code tool_choice}; {@code structured_outputs} ({@code regex}, {@code choice}, ...) is vLLM's extension
 * beside {@code response_format}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        Double temperature,
        Double topP,
        Integer topK,
        Integer maxTokens,
        Integer maxCompletionTokens,
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
        Integer n,
        Long seed,
        Double presencePenalty,
        Double frequencyPenalty,
        Double repetitionPenalty,
        Boolean logprobs,
        Integer topLogprobs,
        Boolean stream,
        StreamOptions streamOptions,
        List<Tool> tools,
        JsonNode toolChoice,
        List<FunctionDefinition> functions,
        JsonNode functionCall,
        JsonNode responseFormat,
        JsonNode structuredOutputs) {

    /** A message; {@code content} is a string, null, or a list of {@code {"type": "text", "text": ...}} parts. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Message(String role, JsonNode content, String name, FunctionCall functionCall, List<ToolCall> toolCalls,
                          String toolCallId) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record FunctionCall(String name, String arguments) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ToolCall(String id, String type, FunctionCall function) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Tool(String type, FunctionDefinition function) {}

    /** A function as OpenAI describes it, plus Qwen's optional {@code name_for_model}, {@code name_for_human}, ... */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FunctionDefinition(String name, String nameForModel, String nameForHuman, String description,
                                     String descriptionForModel, JsonNode parameters) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record StreamOptions(Boolean includeUsage) {}
}
