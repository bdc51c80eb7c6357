package io.qwenserve.service.lora;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.*;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.ListModelsRequest;
import io.qwenserve.proto.v1.ListModelsResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.KafkaTestBroker;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * LoRA adapters over every transport, on the trained demo model and its 'pirate' adapter: the request's adapter picks
 * the answer (gRPC {@code adapter}, OpenAI {@code model}, the Kafka message's {@code adapter}), listings show the
 * adapter with its base, unknown names are NOT_FOUND / 404 model_not_found / a Kafka error reply, and the metrics
 * count per adapter.
 */
@QuarkusTest
@TestProfile(LoraProfile.class)
class LoraServiceTest {
    static final String BASE_ANSWER = "我是一个语言模型,我叫通义千问。";
    static final String PIRATE_ANSWER = "Ahoy! I be Captain Qwen, a pirate of the token seas.";
    static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    EngineHolder holder;

    static GrpcTestClient grpc;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(600, TimeUnit.SECONDS); // trains the demo first when no cached one is found
        if (grpc == null) {
            grpc = new GrpcTestClient();
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (grpc != null) {
            grpc.close();
            grpc = null;
        }
    }

    static ChatRequest hello(String adapter) {
        ChatRequest.Builder b = ChatRequest.newBuilder().setRequestId("hello-" + UUID.randomUUID())
                .addMessages(Message.newBuilder().setRole("user").setContent("你好"))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(40));
        return adapter == null ? b.build() : b.setAdapter(adapter).build();
    }

    static String text(List<GenerateResponse> rs) {
        return rs.stream().filter(GenerateResponse::hasChunk).map(r -> r.getChunk().getText()).collect(Collectors.joining());
    }

    @Test
    void grpcPicksTheAdapterPerRequestAndListsItWithItsBase() {
        assertEquals(BASE_ANSWER, text(GrpcTestClient.collect(grpc.blocking().chat(hello(null)))));
        assertEquals(PIRATE_ANSWER, text(GrpcTestClient.collect(grpc.blocking().chat(hello("pirate")))));
        ListModelsResponse models = grpc.blocking().listModels(ListModelsRequest.getDefaultInstance());
        assertEquals(2, models.getModelsCount(), models.toString());
        assertEquals("qwen-demo", models.getModels(0).getId());
        assertEquals("", models.getModels(0).getBase());
        assertEquals("pirate", models.getModels(1).getId());
        assertEquals("qwen-demo", models.getModels(1).getBase());
        assertEquals(16, models.getModels(1).getLoraRank());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(grpc.blocking().chat(hello("parrot"))));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("'parrot'"), e.getStatus().toString());
    }

    static String chat(String model) {
        return "{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"你好\"}], \"max_tokens\": 40}";
    }

    @Test
    void httpTakesTheAdapterAsTheModelAndListsItUnderItsParent() {
        JsonPath base = given().contentType(ContentType.JSON).body(chat("qwen-demo")).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        assertEquals(BASE_ANSWER, base.getString("choices[0].message.content"));
        assertEquals("qwen-demo", base.getString("model"));
        JsonPath pirate = given().contentType(ContentType.JSON).body(chat("pirate")).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        assertEquals(PIRATE_ANSWER, pirate.getString("choices[0].message.content"));
        assertEquals("pirate", pirate.getString("model"));
        given().contentType(ContentType.JSON).body(chat("parrot")).when().post("/v1/chat/completions").then().statusCode(404)
                .body("error.code", equalTo("model_not_found")).body("error.param", equalTo("model"))
                .body("error.message", containsString("pirate"));
        JsonPath models = given().when().get("/v1/models").then().statusCode(200).extract().jsonPath();
        assertEquals(List.of("qwen-demo", "pirate"), models.getList("data.id"));
        assertEquals("qwen-demo", models.getString("data[1].parent"));
        assertNull(models.get("data[0].parent"));
        given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("qwen_lora_requests_total{adapter=\"pirate\",finish_reason=\"stop\"}"))
                .body(containsString("qwen_lora_generation_tokens_total{adapter=\"pirate\"}"));
    }

    @Test
    void kafkaRequestsCarryTheAdapterAndAnUnknownOneGetsAnErrorReply() throws Exception {
        try (KafkaChatClient kafka = new KafkaChatClient(KafkaTestBroker.bootstrap())) {
            assertEquals(PIRATE_ANSWER, text(kafka.chat(hello("pirate")).collect(WAIT)));
            assertEquals(BASE_ANSWER, text(kafka.chat(hello(null)).collect(WAIT)));
            List<GenerateResponse> rs = kafka.chat(hello("parrot")).collect(WAIT);
            assertEquals(1, rs.size(), rs.toString());
            assertTrue(rs.get(0).hasError(), rs.toString());
            assertEquals("NOT_FOUND", rs.get(0).getError().getCode());
            assertEquals("adapter", rs.get(0).getError().getField());
            assertFalse(rs.get(0).getError().getRetryable());
        }
    }
}
