package io.qwenserve.service.openai;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.service.openai.ChatCompletionResponse.AssistantMessage;
import io.qwenserve.service.openai.ChatCompletionResponse.Chunk;
import io.qwenserve.service.openai.ChatCompletionResponse.ChunkChoice;
import io.qwenserve.service.openai.ChatCompletionResponse.Delta;
import io.qwenserve.service.openai.ChatCompletionResponse.FunctionCall;
import io.qwenserve.service.openai.ChatCompletionResponse.Logprobs;
import io.qwenserve.service.openai.ChatCompletionResponse.ToolCall;
import io.qwenserve.service.openai.Generations.ChoiceEvent;
import io.qwenserve.service.openai.react.QwenConversation;
import io.qwenserve.service.openai.react.ReactParser;
import io.qwenserve.service.openai.react.ReactStreamParser;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Presents one chat call's engine events as OpenAI chat completions. Streamed: a role chunk per choice, content
 * deltas, then a chunk with the finish reason, and a last chunk with the usage when asked for. Whole: one
 * {@code chat.completion}. With functions, each choice's text is read as ReAct ({@link ReactStreamParser} while
 * streaming, {@link ReactParser} for a whole answer) and an action is reported as a tool (or function) call.
 */
final class ChatResponder implements Responder {
    private final OpenAiCall call;
    private final String id;
    private final long created;
    private final String model;
    private final TokenText tokens;
    private final ReactStreamParser[] parsers;
    private final Generations.UsageCounter usage;

    ChatResponder(OpenAiCall call, String id, String model, TokenText tokens) {
        this.call = call;
        this.id = id;
        this.created = System.currentTimeMillis() / 1000;
        this.model = model;
        this.tokens = tokens;
        this.usage = new Generations.UsageCounter(call.n());
        this.parsers = call.tools() == OpenAiCall.ToolMode.NONE ? null : new ReactStreamParser[call.requests().size()];
        for (int i = 0; parsers != null && i < parsers.length; i++) {
            parsers[i] = new ReactStreamParser();
        }
    }

    @Override
    public OpenAiCall call() {
        return call;
    }

    /** The first chunk of every choice: the assistant role. */
    @Override
    public List<Object> start() {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < call.requests().size(); i++) {
            out.add(chunk(i, new Delta("assistant", "", null, null), null, null));
        }
        return out;
    }

    /** The chunks (or the error) that one engine event turns into. */
    @Override
    public List<Object> chunks(ChoiceEvent e) {
        int i = e.index();
        if (e.event() instanceof GenerationEvent.Chunk c) {
            String text = parsers != null ? parsers[i].feed(c.text()) : c.text();
            Logprobs logprobs = call.topLogprobs() >= 0 && !c.logprobs().isEmpty()
                    ? new Logprobs(tokens.chat(c.logprobs(), call.topLogprobs())) : null;
            return text.isEmpty() && logprobs == null ? List.of() : List.of(chunk(i, new Delta(null, text, null, null), logprobs, null));
        }
        GenerationEvent.Final f = (GenerationEvent.Final) e.event();
        if (f.reason() == FinishReason.ERROR) {
            return List.of(OpenAiError.engineFailure(f.message()).body());
        }
        usage.add(i, f);
        List<Object> out = new ArrayList<>();
        String finish = TokenText.finishReason(f.reason());
        if (parsers != null) {
            ReactParser.Parsed p = parsers[i].finish();
            if (!p.content().isEmpty()) {
                out.add(chunk(i, new Delta(null, p.content(), null, null), null, null));
            }
            if (p.isCall()) {
                out.add(chunk(i, callDelta(p.call()), null, null));
                finish = call.tools().finishReason();
            }
        }
        out.add(chunk(i, new Delta(null, null, null, null), null, finish));
        return out;
    }

    /** After the last event: the usage chunk, when asked for. */
    @Override
    public List<Object> end() {
        return call.includeUsage() ? List.of(new Chunk(id, "chat.completion.chunk", created, model, List.of(), usage.usage())) : List.of();
    }

    /** The whole answer. */
    @Override
    public ChatCompletionResponse.Completion completion(List<ChoiceEvent> events) {
        List<ChatCompletionResponse.Choice> choices = new ArrayList<>();
        List<Generations.Output> outputs = Generations.collect(events, call.requests().size());
        for (int i = 0; i < outputs.size(); i++) {
            Generations.Output o = outputs.get(i);
            if (o.end().reason() == FinishReason.ERROR) {
                throw new GenerationFailedException(o.end().message());
            }
            usage.add(i, o.end());
            String finish = TokenText.finishReason(o.end().reason());
            AssistantMessage message = new AssistantMessage("assistant", o.text(), null, null);
            if (call.tools() != OpenAiCall.ToolMode.NONE) {
                ReactParser.Parsed p = ReactParser.parse(o.text());
                message = p.isCall() ? callMessage(p) : new AssistantMessage("assistant", p.content(), null, null);
                finish = p.isCall() ? call.tools().finishReason() : finish;
            }
            Logprobs logprobs = call.topLogprobs() >= 0 ? new Logprobs(tokens.chat(o.logprobs(), call.topLogprobs())) : null;
            choices.add(new ChatCompletionResponse.Choice(i, message, logprobs, finish));
        }
        return new ChatCompletionResponse.Completion(id, "chat.completion", created, model, choices, usage.usage());
    }

    private Chunk chunk(int index, Delta delta, Logprobs logprobs, String finish) {
        return new Chunk(id, "chat.completion.chunk", created, model, List.of(new ChunkChoice(index, delta, logprobs, finish)), null);
    }

    private Delta callDelta(QwenConversation.FunctionCall c) {
        FunctionCall f = new FunctionCall(c.name(), c.arguments());
        return call.tools() == OpenAiCall.ToolMode.TOOLS
                ? new Delta(null, null, List.of(new ToolCall(0, callId(), "function", f)), null)
                : new Delta(null, null, null, f);
    }

    private AssistantMessage callMessage(ReactParser.Parsed p) {
        String thought = p.content().isEmpty() ? null : p.content();
        FunctionCall f = new FunctionCall(p.call().name(), p.call().arguments());
        return call.tools() == OpenAiCall.ToolMode.TOOLS
                ? new AssistantMessage("assistant", thought, List.of(new ToolCall(null, callId(), "function", f)), null)
                : new AssistantMessage("assistant", thought, null, f);
    }

    private static String callId() {
        return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }
}
