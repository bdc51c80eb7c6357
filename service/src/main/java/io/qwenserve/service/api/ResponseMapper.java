package io.qwenserve.service.api;

import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.proto.v1.Chunk;
import io.qwenserve.proto.v1.Final;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.Timings;
import io.qwenserve.proto.v1.TokenLogprob;
import io.qwenserve.proto.v1.TopLogprob;
import io.qwenserve.proto.v1.Usage;

/**
 * Numbers and converts one request's engine events into {@code qwen.v1.GenerateResponse} messages: chunks get seq 0, 1,
 * 2, ..., their first token's index and their text's offset (code points) in the whole output; the terminal message
 * (final or error) gets the next seq. One instance per request (per attempt, for a redone Kafka request).
 */
public final class ResponseMapper {
    private final String requestId;
    private long seq;
    /** Code points of text sent so far. */
    private int textOffset;

    public ResponseMapper(String requestId) {
        this.requestId = requestId;
    }

    public GenerateResponse map(GenerationEvent event) {
        GenerateResponse.Builder b = GenerateResponse.newBuilder().setRequestId(requestId);
        if (event instanceof GenerationEvent.Chunk c) {
            Chunk.Builder cb = Chunk.newBuilder().setSeq(seq++).setText(c.text()).setFirstTokenIndex(c.firstTokenIndex())
                    .setTextOffset(textOffset);
            textOffset += c.text().codePointCount(0, c.text().length());
            for (int id : c.tokenIds()) {
                cb.addTokenIds(id);
            }
            for (GenerationEvent.TokenLogprob lp : c.logprobs()) {
                TokenLogprob.Builder tb = TokenLogprob.newBuilder().setTokenId(lp.token()).setLogprob(lp.logprob());
                for (int i = 0; i < lp.topIds().length; i++) {
                    tb.addTop(TopLogprob.newBuilder().setTokenId(lp.topIds()[i]).setLogprob(lp.topLogprobs()[i]));
                }
                cb.addLogprobs(tb);
            }
            return b.setChunk(cb).build();
        }
        GenerationEvent.Final f = (GenerationEvent.Final) event;
        if (f.reason() == FinishReason.ERROR) {
            return b.setError(io.qwenserve.proto.v1.Error.newBuilder().setSeq(seq++).setCode("INTERNAL")
                    .setMessage(f.message() != null ? f.message() : "engine failure").setRetryable(true)).build();
        }
        Final.Builder fb = Final.newBuilder().setSeq(seq++).setFinishReason(finishReason(f.reason()))
                .setUsage(Usage.newBuilder().setPromptTokens(f.usage().promptTokens()).setCompletionTokens(f.usage().completionTokens())
                        .setCachedPromptTokens(f.usage().cachedPromptTokens()))
                .setTimings(Timings.newBuilder().setQueueMs(f.timings().queueNanos() / 1e6).setTtftMs(f.timings().ttftNanos() / 1e6)
                        .setDecodeMs(f.timings().decodeNanos() / 1e6).setTotalMs(f.timings().totalNanos() / 1e6));
        if (f.message() != null) {
            fb.setMessage(f.message());
        }
        return b.setFinal(fb).build();
    }

    public static io.qwenserve.proto.v1.FinishReason finishReason(FinishReason r) {
        return switch (r) {
            case STOP -> io.qwenserve.proto.v1.FinishReason.FINISH_REASON_STOP;
            case LENGTH -> io.qwenserve.proto.v1.FinishReason.FINISH_REASON_LENGTH;
            case STOP_STRING -> io.qwenserve.proto.v1.FinishReason.FINISH_REASON_STOP_STRING;
            case CANCELLED -> io.qwenserve.proto.v1.FinishReason.FINISH_REASON_CANCELLED;
            case DEADLINE -> io.qwenserve.proto.v1.FinishReason.FINISH_REASON_DEADLINE;
            case ERROR -> io.qwenserve.proto.v1.FinishReason.FINISH_REASON_ERROR;
        };
    }

    /** A rejection as a terminal error message (Kafka replies; gRPC uses a status instead). */
    public static GenerateResponse error(String requestId, long seq, ApiError e) {
        io.qwenserve.proto.v1.Error.Builder eb = io.qwenserve.proto.v1.Error.newBuilder().setSeq(seq).setCode(e.code())
                .setMessage(e.message()).setRetryable(e.retryable());
        if (e.field() != null) {
            eb.setField(e.field());
        }
        return GenerateResponse.newBuilder().setRequestId(requestId).setError(eb).build();
    }

    /** A transport-neutral description of why a request was refused. */
    public record ApiError(String code, String message, boolean retryable, String field) {
        /** Classifies an exception thrown while validating or submitting a request. */
        public static ApiError of(Throwable t) {
            if (t instanceof InvalidParameterException ip) {
                return new ApiError("INVALID_ARGUMENT", ip.getMessage(), false, ip.field());
            }
            if (t instanceof EngineRejectedException er) {
                return switch (er.reason()) {
                    case INVALID -> new ApiError("INVALID_ARGUMENT", er.getMessage(), false, er.field());
                    case PROMPT_TOO_LONG -> new ApiError("FAILED_PRECONDITION", er.getMessage(), false, "prompt");
                    case QUEUE_FULL -> new ApiError("RESOURCE_EXHAUSTED", er.getMessage(), true, null);
                    case UNAVAILABLE -> new ApiError("UNAVAILABLE", er.getMessage(), true, null);
                    case UNKNOWN_ADAPTER -> new ApiError("NOT_FOUND", er.getMessage(), false, "adapter");
                };
            }
            if (t instanceof IllegalArgumentException ia) {
                return new ApiError("INVALID_ARGUMENT", ia.getMessage(), false, null);
            }
            return new ApiError("INTERNAL", t.toString(), true, null);
        }
    }
}
