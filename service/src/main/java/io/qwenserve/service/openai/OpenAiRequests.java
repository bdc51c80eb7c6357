package io.qwenserve.service.openai;

import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.structured.OutputConstraint;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.engine.sample.SamplingParams;
import io.qwenserve.service.config.QwenConfig;
import io.qwenserve.service.openai.react.FunctionSpec;
import io.qwenserve.service.openai.react.QwenConversation;
import io.qwenserve.service.openai.react.ReactPrompt;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Turns {@code /v1/chat/completions} and {@code /v1/completions} bodies into {@link OpenAiCall}s: the conversation through
 * Qwen's {@code openai_api.py} rules (ReAct instruction and {@code Observation:} stop word when functions are given),
 * one engine request per choice (choice i samples with {@code seed + i}); the engine applies defaults and limits.
 */
@ApplicationScoped
public class OpenAiRequests {
    /** Most choices one call may ask for. */
    static final int MAX_N = 128;

    @Inject
    QwenConfig config;

    OpenAiCall chat(ChatCompletionRequest r, Engine engine, String callId) {
        if (r == null) {
            throw new InvalidParameterException("body", "a JSON body is required");
        }
        List<FunctionSpec> functions = ChatMessages.functions(r);
        OpenAiCall.ToolMode tools = functions.isEmpty() ? OpenAiCall.ToolMode.NONE
                : r.tools() != null && !r.tools().isEmpty() ? OpenAiCall.ToolMode.TOOLS : OpenAiCall.ToolMode.FUNCTIONS;
        QwenConversation.Result conversation = QwenConversation.parse(ChatMessages.conversation(r.messages()),
                functions.isEmpty() ? null : ReactPrompt.instruction(functions));
        Prompt prompt = prompt(conversation, engine);

        List<String> stop = new ArrayList<>(r.stop() != null ? r.stop() : List.of());
        if (!functions.isEmpty() && !stop.contains(ReactPrompt.OBSERVATION)) {
            stop.add(ReactPrompt.OBSERVATION);
        }
        boolean logprobs = Boolean.TRUE.equals(r.logprobs());
        if (r.topLogprobs() != null && !logprobs) {
            throw new InvalidParameterException("top_logprobs", "top_logprobs requires logprobs: true");
        }
        int top = logprobs ? logprobs("top_logprobs", r.topLogprobs() != null ? r.topLogprobs() : 0) : -1;
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        OutputConstraint format = OpenAiFormats.responseFormat(r.responseFormat(), r.structuredOutputs());
        if (!functions.isEmpty()) {
            if (format != null) {
                throw new InvalidParameterException("response_format", "response_format cannot be combined with tools"
                        + " (the tool call is constrained to the function's parameters already)");
            }
            format = OpenAiFormats.tools(functions, r.toolChoice(), r.functionCall(), ChatMessages.functionNames(r));
        }
        SamplingOptions sampling = new SamplingOptions(r.temperature(), r.topP(), r.topK(), maxTokens, r.repetitionPenalty(),
                r.presencePenalty(), r.frequencyPenalty(), r.seed(), stop, null, logprobs ? Math.max(1, top) : 0, false, format);
        int n = n(r.n());
        checkChoices(1, n);
        List<GenerationRequest> requests = requests(callId, List.of(prompt), n, sampling);
        boolean stream = Boolean.TRUE.equals(r.stream());
        return new OpenAiCall(requests, n, tools, top, stream, stream && includeUsage(r.streamOptions()));
    }

    OpenAiCall completion(CompletionRequest r, String callId) {
        if (r == null) {
            throw new InvalidParameterException("body", "a JSON body is required");
        }
        if (Boolean.TRUE.equals(r.echo())) {
            throw new InvalidParameterException("echo", "echo is not supported");
        }
        List<Prompt> prompts = CompletionPrompts.of(r.prompt());
        int top = r.logprobs() != null ? logprobs("logprobs", r.logprobs()) : -1;
        SamplingOptions sampling = new SamplingOptions(r.temperature(), r.topP(), r.topK(), r.maxTokens(), r.repetitionPenalty(),
                r.presencePenalty(), r.frequencyPenalty(), r.seed(), r.stop(), null, top >= 0 ? Math.max(top, 1) : 0, false,
                OpenAiFormats.responseFormat(r.responseFormat(), r.structuredOutputs()));
        int n = n(r.n());
        checkChoices(prompts.size(), n);
        boolean stream = Boolean.TRUE.equals(r.stream());
        return new OpenAiCall(requests(callId, prompts, n, sampling), n, OpenAiCall.ToolMode.NONE, top, stream,
                stream && includeUsage(r.streamOptions()));
    }

    /**
     * The chat prompt: ChatML through the model's template, or, when the last message is an assistant's (text-completion
     * mode), the template up to that turn's answer followed by the answer so far, for the model to continue.
     */
    static Prompt prompt(QwenConversation.Result c, Engine engine) {
        if (!c.continuation()) {
            List<ChatMessage> messages = new ArrayList<>();
            if (c.system() != null) {
                messages.add(ChatMessage.system(c.system()));
            }
            for (String[] turn : c.history()) {
                messages.add(ChatMessage.user(turn[0]));
                messages.add(ChatMessage.assistant(turn[1]));
            }
            messages.add(ChatMessage.user(c.query()));
            return new Prompt.Chat(messages);
        }
        List<String[]> earlier = c.history().subList(0, c.history().size() - 1);
        String[] last = c.history().get(c.history().size() - 1);
        int[] head = engine.chatTemplate().encode(c.system(), earlier, last[0]);
        int[] answer = engine.tokenizer().encodeOrdinary(last[1]);
        return new Prompt.Ids(IntStream.concat(IntStream.of(head), IntStream.of(answer)).toArray());
    }

    /** One request per prompt and choice; choice i samples with {@code seed + i}. */
    private static List<GenerationRequest> requests(String callId, List<Prompt> prompts, int n, SamplingOptions o) {
        List<GenerationRequest> requests = new ArrayList<>();
        for (Prompt p : prompts) {
            for (int i = 0; i < n; i++) {
                SamplingOptions choice = o.seed() == null ? o : o.toBuilder().seed(o.seed() + i).build();
                requests.add(GenerationRequest.of(callId + "-" + requests.size(), p, choice));
            }
        }
        return requests;
    }

    private static int n(Integer n) {
        int v = n == null ? 1 : n;
        if (v < 1 || v > MAX_N) {
            throw new InvalidParameterException("n", "n must be in [1, " + MAX_N + "], got " + v);
        }
        return v;
    }

    /** One engine request per choice: a call may ask for at most {@code qwen.http.max-choices} of them. */
    private void checkChoices(int prompts, int n) {
        int max = config.http().maxChoices();
        if ((long) prompts * n > max) {
            throw new InvalidParameterException("n", prompts == 1 ? "n must be <= " + max + " (qwen.http.max-choices), got " + n
                    : "prompts x n must be <= " + max + " (qwen.http.max-choices), got " + prompts + " x " + n);
        }
    }

    private static int logprobs(String field, int top) {
        if (top < 0 || top > SamplingParams.MAX_LOGPROBS) {
            throw new InvalidParameterException(field, field + " must be in [0, " + SamplingParams.MAX_LOGPROBS + "], got " + top);
        }
        return top;
    }

    private static boolean includeUsage(ChatCompletionRequest.StreamOptions o) {
        return o != null && Boolean.TRUE.equals(o.includeUsage());
    }
}
