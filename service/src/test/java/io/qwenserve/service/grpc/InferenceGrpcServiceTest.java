package io.qwenserve.service.grpc;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.*;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.qwenserve.engine.sched.EngineStats;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.CountTokensRequest;
import io.qwenserve.proto.v1.FinishReason;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.ListModelsRequest;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import io.qwenserve.proto.v1.TokenizeRequest;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gRPC API over a real socket, on the generated demo model. */
@QuarkusTest
class InferenceGrpcServiceTest {
    @Inject
    EngineHolder holder;

    static GrpcTestClient client;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
        if (client == null) {
            client = new GrpcTestClient();
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    @Test
    void streamedIdsEqualTheEnginesForTheSameGreedyRequest() throws Exception {
        GenerateRequest req = GenerateRequest.newBuilder().setRequestId("g1").addPromptTokenIds(1).addPromptTokenIds(2)
                .addPromptTokenIds(3).setSampling(SamplingParams.newBuilder().setTemperature(0).setRepetitionPenalty(1).setMaxTokens(12)).build();
        List<GenerateResponse> rs = GrpcTestClient.collect(client.blocking().generate(req));
        Engine e = holder.engine();
        List<Integer> direct = new ArrayList<>();
        for (GenerationEvent ev : e.submit(GenerationRequest.of("direct", new Prompt.Ids(new int[] {1, 2, 3}),
                io.qwenserve.engine.api.SamplingOptions.greedy(12))).drain()) {
            if (ev instanceof GenerationEvent.Chunk c) {
                for (int id : c.tokenIds()) {
                    direct.add(id);
                }
            }
        }
        assertEquals(direct, GrpcTestClient.ids(rs));
        GenerateResponse last = rs.get(rs.size() - 1);
        assertTrue(last.hasFinal());
        assertEquals("g1", last.getRequestId());
        assertEquals(3, last.getFinal().getUsage().getPromptTokens());
        for (int i = 0; i < rs.size(); i++) {
            long seq = rs.get(i).hasChunk() ? rs.get(i).getChunk().getSeq() : rs.get(i).getFinal().getSeq();
            assertEquals(i, seq, "contiguous sequence numbers");
        }
    }

    @Test
    void chatStreamsTextAndEndsWithOneFinal() {
        List<GenerateResponse> rs = GrpcTestClient.collect(client.blocking().chat(GrpcTestClient.chat("c1", "你好", 16)));
        assertEquals(1, rs.stream().filter(GenerateResponse::hasFinal).count());
        assertTrue(rs.get(rs.size() - 1).hasFinal());
        StringBuilder text = new StringBuilder();
        rs.stream().filter(GenerateResponse::hasChunk).forEach(r -> text.append(r.getChunk().getText()));
        assertFalse(text.toString().contains("\uFFFD"));
        assertTrue(rs.get(rs.size() - 1).getFinal().getUsage().getPromptTokens() > 10, "ChatML prompt with system block");
    }

    @Test
    void sixteenConcurrentStreamsAllComplete() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<List<GenerateResponse>>> fs = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int n = i;
            fs.add(pool.submit(() -> GrpcTestClient.collect(client.blocking().chat(GrpcTestClient.chat("p" + n, "request " + n, 8 + n)))));
        }
        for (Future<List<GenerateResponse>> f : fs) {
            List<GenerateResponse> rs = f.get(120, TimeUnit.SECONDS);
            GenerateResponse last = rs.get(rs.size() - 1);
            assertTrue(last.hasFinal(), last.toString());
            assertNotEquals(FinishReason.FINISH_REASON_ERROR, last.getFinal().getFinishReason());
        }
        pool.shutdown();
    }

    @Test
    void cancellingMidStreamFreesItsBlocks() throws Exception {
        CountDownLatch firstChunk = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Context.CancellableContext ctx = Context.current().withCancellation();
        ctx.run(() -> client.async().chat(GrpcTestClient.chat("cancel-me", "go on forever", 4000), new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse value) {
                firstChunk.countDown();
            }

            @Override
            public void onError(Throwable t) {
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        }));
        assertTrue(firstChunk.await(60, TimeUnit.SECONDS));
        // stats() is a snapshot taken after each step, once its chunks are out: the first chunk can arrive before it
        holder.engine().awaitStats(s -> s.kvBlocksUsed() > 0, Duration.ofSeconds(5));
        ctx.cancel(null);
        assertTrue(done.await(10, TimeUnit.SECONDS));
        EngineStats idle = holder.engine().awaitStats(s -> s.kvBlocksUsed() == 0 && s.running() == 0, Duration.ofSeconds(10));
        assertEquals(0, idle.kvBlocksUsed(), "blocks back in the pool");
    }

    @Test
    void theFinalUsageCountsPromptTokensFromThePrefixCache() {
        GenerateRequest req = GenerateRequest.newBuilder().setPrompt("The quick brown fox jumps over the lazy dog. ".repeat(8))
                .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(2)).build();
        List<GenerateResponse> first = GrpcTestClient.collect(client.blocking().generate(req));
        List<GenerateResponse> second = GrpcTestClient.collect(client.blocking().generate(req));
        var usage = second.get(second.size() - 1).getFinal().getUsage();
        assertEquals(0, first.get(first.size() - 1).getFinal().getUsage().getCachedPromptTokens() % 16);
        assertTrue(usage.getCachedPromptTokens() > 0 && usage.getCachedPromptTokens() < usage.getPromptTokens(),
                "cached " + usage.getCachedPromptTokens() + " of " + usage.getPromptTokens());
    }

    @Test
    void anExpiredDeadlineEndsTheRequest() throws Exception {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(
                client.blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS).chat(GrpcTestClient.chat("late", "long", 4000))));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        holder.engine().awaitStats(s -> s.kvBlocksUsed() == 0, Duration.ofSeconds(10));
    }

    @Test
    void aResponseFormatConstrainsTheOutputAndUnsupportedOnesAreInvalidArgument() throws Exception {
        String schema = "{\"type\": \"object\", \"properties\": {\"ok\": {\"type\": \"boolean\"}, \"n\": {\"type\":"
                + " \"integer\", \"minimum\": 1, \"maximum\": 9}}, \"required\": [\"ok\", \"n\"], \"additionalProperties\": false}";
        ChatRequest json = GrpcTestClient.chat("structured", "JSON please", 300).toBuilder().setSampling(SamplingParams.newBuilder()
                .setTemperature(1).setSeed(4).setMaxTokens(300).setResponseFormat(io.qwenserve.proto.v1.ResponseFormat.newBuilder()
                        .setJsonSchema(schema))).build();
        List<GenerateResponse> rs = GrpcTestClient.collect(client.blocking().chat(json));
        StringBuilder text = new StringBuilder();
        rs.stream().filter(GenerateResponse::hasChunk).forEach(r -> text.append(r.getChunk().getText()));
        assertEquals(FinishReason.FINISH_REASON_STOP, rs.get(rs.size() - 1).getFinal().getFinishReason());
        com.fasterxml.jackson.databind.JsonNode value = new com.fasterxml.jackson.databind.ObjectMapper().readTree(text.toString());
        assertEquals(java.util.Set.of(), com.networknt.schema.JsonSchemaFactory.getInstance(com.networknt.schema.SpecVersion.VersionFlag.V202012)
                .getSchema(schema).validate(value), text.toString());

        ChatRequest unsupported = GrpcTestClient.chat("bad-format", "x", 4).toBuilder().setSampling(SamplingParams.newBuilder()
                .setResponseFormat(io.qwenserve.proto.v1.ResponseFormat.newBuilder().setJsonSchema("{\"type\": \"string\", \"format\": \"uri\"}")))
                .build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking().chat(unsupported)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("response_format"), e.getStatus().getDescription());
        assertTrue(e.getStatus().getDescription().contains("uri"), e.getStatus().getDescription());
        ChatRequest two = GrpcTestClient.chat("two-formats", "x", 4).toBuilder().setSampling(SamplingParams.newBuilder()
                .setResponseFormat(io.qwenserve.proto.v1.ResponseFormat.newBuilder().setJsonObject(true).setRegex("a+"))).build();
        StatusRuntimeException e2 = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking().chat(two)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e2.getStatus().getCode());
    }

    @Test
    void invalidArgumentNamesTheField() {
        ChatRequest bad = GrpcTestClient.chat("bad", "x", 4).toBuilder()
                .setSampling(SamplingParams.newBuilder().setTemperature(-1)).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking().chat(bad)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("temperature"), e.getStatus().getDescription());

        ChatRequest badRole = ChatRequest.newBuilder().addMessages(Message.newBuilder().setRole("robot").setContent("x")).build();
        StatusRuntimeException e2 = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking().chat(badRole)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e2.getStatus().getCode());
        assertTrue(e2.getStatus().getDescription().startsWith("messages[0].role"), e2.getStatus().getDescription());

        StatusRuntimeException e3 = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(client.blocking().chat(ChatRequest.newBuilder().build())));
        assertTrue(e3.getStatus().getDescription().startsWith("messages"), e3.getStatus().getDescription());

        StatusRuntimeException e4 = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking()
                .generate(GenerateRequest.newBuilder().addPromptTokenIds(99999999).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, e4.getStatus().getCode());
        assertTrue(e4.getStatus().getDescription().startsWith("prompt_token_ids"), e4.getStatus().getDescription());
    }

    @Test
    void aPromptLongerThanTheContextIsFailedPrecondition() {
        GenerateRequest.Builder b = GenerateRequest.newBuilder();
        for (int i = 0; i < holder.engine().maxModelLen() + 5; i++) {
            b.addPromptTokenIds(100 + i % 1000);
        }
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(client.blocking().generate(b.build())));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("context"), e.getStatus().getDescription());
    }

    @Test
    void unaryTokenizeCountAndListModels() {
        var ids = client.blocking().tokenize(TokenizeRequest.newBuilder().setText("你好<|im_end|>").build()).getTokenIdsList();
        assertEquals(List.of(108386, 27, 91, 318, 6213, 91, 29), ids, "specials are text unless allowed");
        var special = client.blocking().tokenize(TokenizeRequest.newBuilder().setText("你好<|im_end|>").setAllowSpecial(true).build());
        assertEquals(List.of(108386, 151645), special.getTokenIdsList());
        int n = client.blocking().countTokens(CountTokensRequest.newBuilder()
                .addMessages(Message.newBuilder().setRole("user").setContent("你好")).build()).getCount();
        assertTrue(n > 10);
        var models = client.blocking().listModels(ListModelsRequest.getDefaultInstance());
        assertEquals(1, models.getModelsCount());
        assertTrue(models.getModels(0).getDemo());
        assertEquals("Qwen2ForCausalLM", models.getModels(0).getArchitecture());
    }

    @Test
    void healthEndpointsAndGrpcHealth() {
        given().when().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        given().when().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
        given().when().get("/q/health/started").then().statusCode(200).body("status", equalTo("UP"));
        HealthCheckResponse h = HealthGrpc.newBlockingStub(client.channel).check(HealthCheckRequest.newBuilder().build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, h.getStatus());
    }

    @Test
    void metricsArePresent() {
        GrpcTestClient.collect(client.blocking().chat(GrpcTestClient.chat("m1", "metrics", 4)));
        String body = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String name : List.of("qwen_num_requests_waiting", "qwen_num_requests_running", "qwen_kv_cache_usage_perc",
                "qwen_time_to_first_token_seconds_bucket", "qwen_inter_token_latency_seconds_bucket",
                "qwen_e2e_request_latency_seconds_bucket", "qwen_prompt_tokens_total", "qwen_generation_tokens_total",
                "qwen_num_preemptions_total", "qwen_request_success_total{finish_reason=\"length\"}")) {
            assertTrue(body.contains(name), "missing metric " + name);
        }
        given().when().get("/q/metrics").then().body(containsString("qwen_request_success_total"));
    }
}
