package io.qwenserve.engine.api;

import java.time.Instant;

/**
 * One request to the engine, transport-independent.
 *
 * @param requestId unique among requests in flight; used by {@code cancel}
 * @param sampling  the request's sampling fields; unset ones take the engine's defaults
 * @param priority  lower values are scheduled first (and preempted last)
 * @param deadline  when the request gives up with finish reason DEADLINE; null for none
 */
public record GenerationRequest(String requestId, Prompt prompt, SamplingOptions sampling, int priority, Instant deadline) {
    public GenerationRequest {
        if (requestId == null || requestId.isEmpty()) {
            throw new IllegalArgumentException("request_id must be non-empty");
        }
        if (prompt == null) {
            throw new IllegalArgumentException("prompt is required");
        }
        if (sampling == null) {
            throw new IllegalArgumentException("sampling is required");
        }
    }

    public static GenerationRequest of(String id, Prompt prompt, SamplingOptions sampling) {
        return new GenerationRequest(id, prompt, sampling, 0, null);
    }
}
