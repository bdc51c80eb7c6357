package io.qwenserve.engine.api;

import java.time.Instant;

/**
 * One request to the engine, transport-independent.
 *
 * @param requestId unique among requests in flight; used by {@code cancel}
 * @param sampling  the request's sampling fields; unset ones take the engine's defaults
 * @param priority  lower values are scheduled first (and preempted last)
 * @param deadline  when the request gives up with finish reason DEADLINE; null for none
 * @param adapter   the LoRA adapter to generate with, by name; null for the base model
 */
public record GenerationRequest(String requestId, Prompt prompt, SamplingOptions sampling, int priority, Instant deadline,
                                String adapter) {
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

    /** A request for the base model. */
    public GenerationRequest(String requestId, Prompt prompt, SamplingOptions sampling, int priority, Instant deadline) {
        this(requestId, prompt, sampling, priority, deadline, null);
    }

    public static GenerationRequest of(String id, Prompt prompt, SamplingOptions sampling) {
        return new GenerationRequest(id, prompt, sampling, 0, null);
    }

    /** The same request for a LoRA adapter ({@code null} or empty: the base model). */
    public GenerationRequest withAdapter(String name) {
        return new GenerationRequest(requestId, prompt, sampling, priority, deadline, name == null || name.isEmpty() ? null : name);
    }
}
