package io.qwenserve.engine.api;

/** Why a generation ended. */
public enum FinishReason {
    /** An end-of-sequence or stop token id was generated. */
    STOP,
    /** {@code max_tokens} or the context length was reached. */
    LENGTH,
    /** A stop string was generated (and cut off). */
    STOP_STRING,
    /** The client cancelled, or the engine shut down. */
    CANCELLED,
    /** The request's deadline passed. */
    DEADLINE,
    /** The engine failed while running the request. */
    ERROR;

    /** Lower-case name, as the CLI and the OpenAI-style APIs print it. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
