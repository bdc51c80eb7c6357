package io.qwenserve.engine.structured;

/**
 * A response format the engine cannot honour: invalid JSON Schema, an unsupported keyword (named by
 * {@link #keyword()}), a regex outside the supported subset, or a format too large to compile. Transports answer it
 * with HTTP 400, gRPC INVALID_ARGUMENT or a Kafka error reply.
 */
public final class StructuredOutputException extends IllegalArgumentException {
    private final String keyword;

    public StructuredOutputException(String message) {
        this(message, null);
    }

    public StructuredOutputException(String message, String keyword) {
        super(message);
        this.keyword = keyword;
    }

    /** The JSON Schema keyword or regex construct that is not supported, or null. */
    public String keyword() {
        return keyword;
    }
}
