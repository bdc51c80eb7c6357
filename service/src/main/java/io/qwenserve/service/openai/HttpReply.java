package io.qwenserve.service.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.jboss.resteasy.reactive.RestMulti;

/**
 * One HTTP answer of the API: a status, headers and the body as byte pieces, each written and flushed as it comes
 * (one piece for JSON; one {@code data: {...}} event per piece for server-sent events, ending with
 * {@code data: [DONE]}). Closing the connection cancels the body's source, and so the generation.
 */
record HttpReply(int status, Map<String, List<String>> headers, Multi<byte[]> body) {
    private static final Map<String, List<String>> JSON = Map.of("Content-Type", List.of("application/json"));
    private static final Map<String, List<String>> SSE = Map.of("Content-Type", List.of("text/event-stream"),
            "Cache-Control", List.of("no-cache"), "X-Accel-Buffering", List.of("no"));
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    static HttpReply json(ObjectMapper mapper, int status, Object value) {
        return new HttpReply(status, JSON, Multi.createFrom().item(bytes(mapper, value)));
    }

    static HttpReply error(ObjectMapper mapper, Throwable t) {
        OpenAiError e = OpenAiError.of(t);
        return json(mapper, e.status(), e.body());
    }

    /** Server-sent events: each object as one {@code data:} event, a failure as an error event, then {@code [DONE]}. */
    static HttpReply sse(ObjectMapper mapper, Multi<Object> events) {
        Multi<byte[]> body = events.map(o -> event(mapper, o))
                .onFailure().recoverWithItem(t -> event(mapper, OpenAiError.of(t).body()))
                .onCompletion().continueWith(DONE);
        return new HttpReply(200, SSE, body);
    }

    /** As Quarkus REST streams it: status and headers, then the pieces. */
    static RestMulti<byte[]> toRest(Uni<HttpReply> reply) {
        return RestMulti.fromUniResponse(reply, HttpReply::body, HttpReply::headers, HttpReply::status);
    }

    private static byte[] event(ObjectMapper mapper, Object value) {
        byte[] json = bytes(mapper, value);
        byte[] out = new byte[json.length + 8];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, out, 0, 6);
        System.arraycopy(json, 0, out, 6, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }

    private static byte[] bytes(ObjectMapper mapper, Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
        }
    }
}
