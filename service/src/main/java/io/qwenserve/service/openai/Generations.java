package io.qwenserve.service.openai;

import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.service.engine.EngineHolder;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine side of one API call: submits its requests (one per choice) all or none, and merges their events, each
 * tagged with its choice index. Cancelling the merged stream (a client that went away) cancels every request, which
 * frees its KV blocks at once.
 */
final class Generations {
    /** An engine event of choice {@code index}. */
    record ChoiceEvent(int index, GenerationEvent event) {}

    /** One choice's whole output. */
    record Output(String text, List<GenerationEvent.TokenLogprob> logprobs, GenerationEvent.Final end) {}

    /** Token counts over the choices: each prompt counted once (choices {@code 0, n, 2n, ...} start a prompt). */
    static final class UsageCounter {
        private final int n;
        private int prompt;
        private int cachedPrompt;
        private int completion;

        UsageCounter(int n) {
            this.n = n;
        }

        void add(int index, GenerationEvent.Final f) {
            prompt += index % n == 0 ? f.usage().promptTokens() : 0;
            cachedPrompt += index % n == 0 ? f.usage().cachedPromptTokens() : 0;
            completion += f.usage().completionTokens();
        }

        Usage usage() {
            return Usage.of(prompt, completion, cachedPrompt);
        }
    }

    private Generations() {
    }

    static Multi<ChoiceEvent> submit(EngineHolder holder, Engine engine, List<GenerationRequest> requests) {
        List<GenerationStream> streams = engine.submitAll(requests); // all or none; the choices of a prompt share it
        List<Multi<ChoiceEvent>> tagged = new ArrayList<>();
        for (int i = 0; i < streams.size(); i++) {
            int index = i;
            tagged.add(Multi.createFrom().publisher(streams.get(i).publisher(Infrastructure.getDefaultExecutor()))
                    .map(e -> new ChoiceEvent(index, e)));
        }
        Multi<ChoiceEvent> merged = tagged.size() == 1 ? tagged.get(0) : Multi.createBy().merging().streams(tagged);
        return merged.onSubscription().invoke(holder::streamOpened).onTermination().invoke(holder::streamClosed);
    }

    /** Gathers the events of a whole call into one output per choice. */
    static List<Output> collect(List<ChoiceEvent> events, int choices) {
        StringBuilder[] texts = new StringBuilder[choices];
        List<List<GenerationEvent.TokenLogprob>> logprobs = new ArrayList<>();
        GenerationEvent.Final[] ends = new GenerationEvent.Final[choices];
        for (int i = 0; i < choices; i++) {
            texts[i] = new StringBuilder();
            logprobs.add(new ArrayList<>());
        }
        for (ChoiceEvent e : events) {
            if (e.event() instanceof GenerationEvent.Chunk c) {
                texts[e.index()].append(c.text());
                logprobs.get(e.index()).addAll(c.logprobs());
            } else {
                ends[e.index()] = (GenerationEvent.Final) e.event();
            }
        }
        List<Output> out = new ArrayList<>();
        for (int i = 0; i < choices; i++) {
            out.add(new Output(texts[i].toString(), logprobs.get(i), ends[i]));
        }
        return out;
    }
}
