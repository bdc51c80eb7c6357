package io.qwenserve.service.openai;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.service.openai.Generations.ChoiceEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * Presents one completions call's engine events as OpenAI {@code text_completion} objects: streamed, one object per
 * piece of new text of one choice, then one with its finish reason (and a last one with the usage when asked for);
 * whole, one object with every choice.
 */
final class CompletionResponder implements Responder {
    private final OpenAiCall call;
    private final String id;
    private final long created;
    private final String model;
    private final TokenText tokens;
    private final int[] offsets;
    private final Generations.UsageCounter usage;

    CompletionResponder(OpenAiCall call, String id, String model, TokenText tokens) {
        this.call = call;
        this.id = id;
        this.created = System.currentTimeMillis() / 1000;
        this.model = model;
        this.tokens = tokens;
        this.offsets = new int[call.requests().size()];
        this.usage = new Generations.UsageCounter(call.n());
    }

    @Override
    public OpenAiCall call() {
        return call;
    }

    @Override
    public List<Object> start() {
        return List.of();
    }

    @Override
    public List<Object> chunks(ChoiceEvent e) {
        int i = e.index();
        if (e.event() instanceof GenerationEvent.Chunk c) {
            CompletionResponse.Logprobs logprobs = call.topLogprobs() >= 0 && !c.logprobs().isEmpty()
                    ? tokens.completion(c.logprobs(), call.topLogprobs(), offsets[i]) : null;
            offsets[i] += c.text().length();
            return c.text().isEmpty() && logprobs == null ? List.of() : List.of(response(i, c.text(), logprobs, null, null));
        }
        GenerationEvent.Final f = (GenerationEvent.Final) e.event();
        if (f.reason() == FinishReason.ERROR) {
            return List.of(OpenAiError.engineFailure(f.message()).body());
        }
        usage.add(i, f);
        return List.of(response(i, "", null, TokenText.finishReason(f.reason()), null));
    }

    @Override
    public List<Object> end() {
        return call.includeUsage() ? List.of(new CompletionResponse(id, "text_completion", created, model, List.of(), usage.usage()))
                : List.of();
    }

    @Override
    public CompletionResponse completion(List<ChoiceEvent> events) {
        List<CompletionResponse.Choice> choices = new ArrayList<>();
        List<Generations.Output> outputs = Generations.collect(events, call.requests().size());
        for (int i = 0; i < outputs.size(); i++) {
            Generations.Output o = outputs.get(i);
            if (o.end().reason() == FinishReason.ERROR) {
                throw new GenerationFailedException(o.end().message());
            }
            usage.add(i, o.end());
            CompletionResponse.Logprobs logprobs = call.topLogprobs() >= 0 ? tokens.completion(o.logprobs(), call.topLogprobs(), 0) : null;
            choices.add(new CompletionResponse.Choice(i, o.text(), logprobs, TokenText.finishReason(o.end().reason())));
        }
        return new CompletionResponse(id, "text_completion", created, model, choices, usage.usage());
    }

    private CompletionResponse response(int index, String text, CompletionResponse.Logprobs logprobs, String finish, Usage u) {
        return new CompletionResponse(id, "text_completion", created, model,
                List.of(new CompletionResponse.Choice(index, text, logprobs, finish)), u);
    }
}
