package io.qwenserve.engine.api;

/** The engine refused a request before queueing it; {@link #reason()} says why, for mapping to transport errors. */
public final class EngineRejectedException extends RuntimeException {
    /** Why a request was refused. */
    public enum Reason {
        /** The waiting queue is full; retry later. */
        QUEUE_FULL,
        /** The prompt (plus one generated token) does not fit the context or the whole KV cache. */
        PROMPT_TOO_LONG,
        /** The request itself is invalid (bad ids, bad chat messages, duplicate id). */
        INVALID,
        /** The engine is starting, draining or stopped. */
        UNAVAILABLE,
        /** The request names a LoRA adapter (model) the engine does not serve. */
        UNKNOWN_ADAPTER
    }

    private final Reason reason;
    private final String field;

    public EngineRejectedException(Reason reason, String message) {
        this(reason, null, message);
    }

    public EngineRejectedException(Reason reason, String field, String message) {
        super(message);
        this.reason = reason;
        this.field = field;
    }

    public Reason reason() {
        return reason;
    }

    /** The offending request field for {@link Reason#INVALID}, when known. */
    public String field() {
        return field;
    }

    public boolean retryable() {
        return reason == Reason.QUEUE_FULL || reason == Reason.UNAVAILABLE;
    }
}
