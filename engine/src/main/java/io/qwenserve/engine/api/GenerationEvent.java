package io.qwenserve.engine.api;

import java.util.List;

/** What a request's stream carries: chunks, then exactly one {@link Final}. */
public sealed interface GenerationEvent {

    /** Log probabilities of one generated token (raw model distribution). */
    record TokenLogprob(int token, float logprob, int[] topIds, float[] topLogprobs) {}

    /**
     * New output. {@code text} holds only complete UTF-8 and never text of a stop string; it may be empty while bytes
     * or a possible stop string are held back.
     *
     * @param firstTokenIndex index of {@code tokenIds[0]} among the request's generated tokens
     * @param logprobs        one entry per token when the request asked for logprobs, else empty
     */
    record Chunk(String text, int[] tokenIds, int firstTokenIndex, List<TokenLogprob> logprobs) implements GenerationEvent {
        public Chunk {
            logprobs = List.copyOf(logprobs);
        }
    }

    /**
     * The end of a stream.
     *
     * @param message why, for {@link FinishReason#ERROR} (and for cancellations by shutdown); otherwise null
     */
    record Final(FinishReason reason, Usage usage, Timings timings, String message) implements GenerationEvent {}

    /**
     * Token counts.
     *
     * @param cachedPromptTokens prompt tokens whose K/V came from the prefix cache (not computed for this request)
     */
    record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
        public Usage(int promptTokens, int completionTokens) {
            this(promptTokens, completionTokens, 0);
        }
    }

    /**
     * Where the time went, in nanoseconds.
     *
     * @param queueNanos   from submission to the first scheduled step
     * @param ttftNanos    from submission to the first generated token
     * @param decodeNanos  from the first generated token to the end
     * @param totalNanos   from submission to the end
     */
    record Timings(long queueNanos, long ttftNanos, long decodeNanos, long totalNanos) {}
}
