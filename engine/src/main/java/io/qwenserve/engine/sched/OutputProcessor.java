package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.sample.SampleResult;
import io.qwenserve.engine.text.IncrementalDetokenizer;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.List;

/**
 * After the scheduler: turns each sequence's sampled tokens into what its client sees. Detokenizes incrementally (only
 * complete UTF-8, stop strings held back and honoured across token boundaries), builds chunk and final events with
 * usage and timings, and feeds the engine's metrics listener. Runs on the engine thread.
 */
final class OutputProcessor {
    /** One request's output state. */
    static final class Output {
        final GenerationStream stream;
        final IncrementalDetokenizer detokenizer;
        final boolean logprobs;
        final int promptTokens;
        final String adapter; // LoRA adapter, or null
        final long submittedNanos = System.nanoTime();
        long firstScheduledNanos;
        long firstTokenNanos;
        long lastTokenNanos;

        Output(GenerationStream stream, IncrementalDetokenizer detokenizer, boolean logprobs, int promptTokens) {
            this(stream, detokenizer, logprobs, promptTokens, null);
        }

        Output(GenerationStream stream, IncrementalDetokenizer detokenizer, boolean logprobs, int promptTokens, String adapter) {
            this.adapter = adapter;
            this.stream = stream;
            this.detokenizer = detokenizer;
            this.logprobs = logprobs;
            this.promptTokens = promptTokens;
        }
    }

    private final QwenTokenizer tokenizer;
    private final EngineListener listener;

    OutputProcessor(QwenTokenizer tokenizer, EngineListener listener) {
        this.tokenizer = tokenizer;
        this.listener = listener;
    }

    /** The output state of a newly submitted request (any thread). */
    Output open(InputProcessor.Processed p, GenerationStream stream) {
        return new Output(stream, new IncrementalDetokenizer(tokenizer::tokenBytes, tokenizer::isSpecial, p.params().stop()),
                p.params().logprobs() > 0, p.prompt().length, p.request().adapter());
    }

    void queued(Output o) {
        listener.onPromptTokens(o.promptTokens);
    }

    void scheduled(Output o) {
        o.firstScheduledNanos = System.nanoTime();
    }

    void preempted() {
        listener.onPreemption();
    }

    /** Emits the chunk of one new token; true when it completed a stop string. */
    boolean token(Output o, int token, int index, SampleResult r) {
        long now = System.nanoTime();
        if (o.firstTokenNanos == 0) {
            o.firstTokenNanos = now;
            listener.onFirstToken(now - o.submittedNanos);
        } else {
            listener.onInterToken(now - o.lastTokenNanos);
        }
        o.lastTokenNanos = now;
        String text = o.detokenizer.push(token);
        List<GenerationEvent.TokenLogprob> lp = o.logprobs
                ? List.of(new GenerationEvent.TokenLogprob(token, r.logprob(), r.topIds(), r.topLogprobs()))
                : List.of();
        o.stream.offer(new GenerationEvent.Chunk(text, new int[] {token}, index, lp));
        return o.detokenizer.stopHit() != null;
    }

    /** Emits held-back text and the final event. {@code message} is null for normal ends. */
    void finished(Output o, FinishReason reason, String message, int completionTokens, int cachedPromptTokens) {
        if (reason != FinishReason.STOP_STRING) {
            String tail = o.detokenizer.finish();
            if (!tail.isEmpty()) {
                o.stream.offer(new GenerationEvent.Chunk(tail, new int[0], completionTokens, List.of()));
            }
        }
        long end = System.nanoTime();
        long scheduled = o.firstScheduledNanos == 0 ? end : o.firstScheduledNanos;
        long first = o.firstTokenNanos == 0 ? end : o.firstTokenNanos;
        GenerationEvent.Timings t = new GenerationEvent.Timings(scheduled - o.submittedNanos,
                o.firstTokenNanos == 0 ? 0 : first - o.submittedNanos, end - first, end - o.submittedNanos);
        boolean normal = reason == FinishReason.STOP || reason == FinishReason.STOP_STRING || (reason == FinishReason.LENGTH && message == null);
        o.stream.offer(new GenerationEvent.Final(reason, new GenerationEvent.Usage(o.promptTokens, completionTokens,
                Math.max(0, cachedPromptTokens)), t,
                normal ? null : message));
        listener.onFinished(reason, end - o.submittedNanos, o.promptTokens, completionTokens);
        if (o.adapter != null) {
            listener.onAdapterFinished(o.adapter, reason, o.promptTokens, completionTokens);
        }
    }
}
