package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;

/** Per-event engine metrics, called on the engine thread (implementations must be quick and never block). */
public interface EngineListener {
    EngineListener NONE = new EngineListener() {};

    default void onFirstToken(long ttftNanos) {}

    default void onInterToken(long nanos) {}

    default void onFinished(FinishReason reason, long e2eNanos, int promptTokens, int completionTokens) {}

    default void onPreemption() {}

    default void onPromptTokens(int tokens) {}

    /**
     * A request ended that ran with a LoRA adapter: its name, and the prompt and generated tokens it counted (also
     * reported through {@link #onFinished}).
     */
    default void onAdapterFinished(String adapter, FinishReason reason, int promptTokens, int completionTokens) {}

    /** A sequence looked its {@code queried} known tokens up in the prefix cache and found {@code hit} of them. */
    default void onPrefixCache(int queried, int hit) {}

    /**
     * One step ran: {@code numSeqs} sequences, {@code numTokens} tokens ({@code numDecode} of them one-token decodes),
     * {@code forwardNanos} in the model runner (forward pass and sampling) of {@code stepNanos} for the whole step.
     */
    default void onStep(int numSeqs, int numTokens, int numDecode, long forwardNanos, long stepNanos) {}
}
