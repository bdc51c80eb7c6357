package io.qwenserve.service.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.*;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.SamplingParams;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bounded work per request, as gRPC and HTTP clients meet it: more stop strings than {@code qwen.engine.max-stop-strings}
 * (16), or one longer than {@code qwen.engine.max-stop-length} (256 characters), is a clear INVALID_ARGUMENT / 400
 * naming {@code stop}. (Kafka: {@code KafkaRefusalsTest}; choices per HTTP call: {@code CompletionsTest}.)
 */
@QuarkusTest
class RequestCapsTest {
    @Inject
    EngineHolder holder;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    private static String stops(int n, int length) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append(i == 0 ? "" : ",").append('"').append(("s" + i + "x".repeat(length)).substring(0, length)).append('"');
        }
        return "[" + s + "]";
    }

    @Test
    void tooManyOrTooLongStopStringsAreRefusedOverGrpc() throws Exception {
        try (GrpcTestClient client = new GrpcTestClient()) {
            for (var sampling : new SamplingParams[] {
                    SamplingParams.newBuilder().setMaxTokens(2).addAllStop(java.util.Collections.nCopies(17, "stop")).build(),
                    SamplingParams.newBuilder().setMaxTokens(2).addStop("y".repeat(257)).build()}) {
                ChatRequest r = GrpcTestClient.chat("caps-" + System.nanoTime(), "hi", 2).toBuilder().setSampling(sampling).build();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking().chat(r)));
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
                assertTrue(e.getStatus().getDescription().startsWith("stop"), e.getStatus().getDescription());
            }
            ChatRequest ok = GrpcTestClient.chat("caps-ok", "hi", 2).toBuilder().setSampling(SamplingParams.newBuilder().setMaxTokens(2)
                    .addAllStop(java.util.Collections.nCopies(16, "z".repeat(256)))).build();
            var rs = GrpcTestClient.collect(client.blocking().chat(ok));
            assertTrue(rs.get(rs.size() - 1).hasFinal(), "16 stop strings of 256 characters are allowed");
        }
    }

    @Test
    void tooManyOrTooLongStopStringsAreRefusedOverHttp() {
        for (String stop : new String[] {stops(17, 4), stops(1, 257)}) {
            given().contentType(ContentType.JSON).body("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2, "
                    + "\"stop\": " + stop + "}").when().post("/v1/chat/completions").then().statusCode(400)
                    .body("error.param", equalTo("stop")).body("error.type", equalTo("invalid_request_error"));
        }
    }
}
