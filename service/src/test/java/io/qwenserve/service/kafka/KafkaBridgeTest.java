package io.qwenserve.service.kafka;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.client.ReplyStream;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.sched.EngineStats;
import io.qwenserve.proto.kafka.KafkaEncoding;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.FinishReason;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import io.qwenserve.service.Await;
import io.qwenserve.service.KafkaTestBroker;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Kafka request/reply against a real broker, on the generated demo model. */
@QuarkusTest
@TestProfile(KafkaProfile.class)
class KafkaBridgeTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    EngineHolder holder;

    @Inject
    KafkaBridge bridge;

    static String bootstrap;
    static KafkaChatClient client;
    static KafkaProducer<String, byte[]> raw;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
        bridge.whenRunning().get(60, TimeUnit.SECONDS);
        if (client == null) {
            bootstrap = KafkaTestBroker.bootstrap();
            client = new KafkaChatClient(bootstrap);
            raw = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringSerializer(),
                    new ByteArraySerializer());
        }
    }

    @AfterAll
    static void close() throws Exception {
        if (client != null) {
            client.close();
            raw.close();
            client = null;
        }
    }

    @Test
    void chatRoundTripStreamsNumberedChunksThenOneFinal() throws Exception {
        List<GenerateResponse> rs = client.chat(chat("round-trip", "Hello over Kafka", 12)).collect(WAIT);
        assertComplete("round-trip", rs);
        GenerateResponse last = rs.get(rs.size() - 1);
        assertEquals(FinishReason.FINISH_REASON_LENGTH, last.getFinal().getFinishReason());
        assertEquals(12, last.getFinal().getUsage().getCompletionTokens());
    }

    @Test
    void binaryProtobufGenerateGivesTheEnginesTokens() throws Exception {
        GenerateRequest req = GenerateRequest.newBuilder().setRequestId("protobuf-" + UUID.randomUUID()).addPromptTokenIds(1)
                .addPromptTokenIds(2).addPromptTokenIds(3).setSampling(SamplingParams.newBuilder().setTemperature(0)
                        .setRepetitionPenalty(1).setMaxTokens(10)).build();
        List<GenerateResponse> rs;
        try (KafkaChatClient pb = new KafkaChatClient(bootstrap, KafkaChatClient.Options.defaults().withEncoding(KafkaEncoding.PROTOBUF))) {
            rs = pb.send(req, new KafkaChatClient.Send(null, null, 3)).collect(WAIT);
        }
        assertComplete(req.getRequestId(), rs);
        List<Integer> direct = new ArrayList<>();
        for (GenerationEvent e : holder.engine().submit(GenerationRequest.of("direct-" + UUID.randomUUID(),
                new Prompt.Ids(new int[] {1, 2, 3}), io.qwenserve.engine.api.SamplingOptions.greedy(10))).drain()) {
            if (e instanceof GenerationEvent.Chunk c) {
                for (int id : c.tokenIds()) {
                    direct.add(id);
                }
            }
        }
        assertEquals(direct, ids(rs));
    }

    @Test
    void fiftyConcurrentRequestsCompleteWithinTheInFlightBound() throws Exception {
        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicInteger most = new AtomicInteger();
        CompletableFuture<Void> sampler = CompletableFuture.runAsync(() -> {
            while (sampling.get()) {
                EngineStats s = holder.engine().stats();
                most.accumulateAndGet(s.running() + s.waiting(), Math::max);
                Thread.onSpinWait();
            }
        });
        Map<String, ReplyStream> streams = new HashMap<>();
        for (int i = 0; i < 50; i++) {
            String id = "concurrent-" + i + "-" + UUID.randomUUID();
            streams.put(id, client.chat(chat(id, "request number " + i, 8 + i % 9)));
        }
        for (var e : streams.entrySet()) {
            assertComplete(e.getKey(), e.getValue().collect(WAIT));
        }
        sampling.set(false);
        sampler.get();
        assertTrue(most.get() <= 8, "at most qwen.kafka.max-in-flight=8 requests in the engine, saw " + most.get());
        assertTrue(most.get() > 1, "requests ran concurrently, saw at most " + most.get());
    }

    @Test
    void badRecordsAreDeadLetteredWhileTheirPartitionKeepsFlowing() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String longPrompt = "word ".repeat(600);
        record Bad(String id, String value, String contentType, String code, String field) {}
        List<Bad> bad = List.of(
                new Bad("bad-json-" + run, "this is not JSON", null, "INVALID_ARGUMENT", "value"),
                new Bad("unknown-field-" + run, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"bogus\":1}", null, "INVALID_ARGUMENT", "value"),
                new Bad("no-messages-" + run, "{\"sampling\":{\"maxTokens\":4}}", null, "INVALID_ARGUMENT", "messages"),
                new Bad("bad-temperature-" + run, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"sampling\":{\"temperature\":-1}}",
                        null, "INVALID_ARGUMENT", "temperature"),
                new Bad("too-long-" + run, "{\"prompt\":\"" + longPrompt + "\"}", null, "FAILED_PRECONDITION", "prompt"),
                new Bad("bad-content-type-" + run, "{}", "text/plain", "INVALID_ARGUMENT", "content-type"),
                new Bad("unsupported-schema-" + run, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"sampling\":"
                        + "{\"responseFormat\":{\"jsonSchema\":\"{\\\"type\\\":\\\"array\\\",\\\"uniqueItems\\\":true}\"}}}",
                        null, "INVALID_ARGUMENT", "response_format"),
                new Bad("unsupported-regex-" + run, "{\"prompt\":\"x\",\"sampling\":{\"responseFormat\":{\"regex\":\"(?=a)b\"}}}",
                        null, "INVALID_ARGUMENT", "response_format"));
        String key = "one-partition-" + run; // every record of this test lands in one partition
        ReplyStream first = client.expect("good-first-" + run);
        send(key, "good-first-" + run, json("good-first-" + run), null);
        Map<String, ReplyStream> rejected = new HashMap<>();
        for (Bad b : bad) {
            rejected.put(b.id(), client.expect(b.id()));
            send(key, b.id(), b.value(), b.contentType());
        }
        ReplyStream last = client.expect("good-last-" + run);
        send(key, "good-last-" + run, json("good-last-" + run), null);

        assertComplete("good-first-" + run, first.collect(WAIT));
        assertComplete("good-last-" + run, last.collect(WAIT));
        for (Bad b : bad) {
            List<GenerateResponse> rs = rejected.get(b.id()).collect(WAIT);
            assertEquals(1, rs.size(), b.id());
            GenerateResponse err = rs.get(0);
            assertTrue(err.hasError(), err.toString());
            assertEquals(b.code(), err.getError().getCode(), err.toString());
            assertEquals(b.field(), err.getError().getField(), err.toString());
            assertFalse(err.getError().getRetryable());
        }
        Map<String, ConsumerRecord<String, byte[]>> letters = deadLetters(bad.size(), run);
        for (Bad b : bad) {
            ConsumerRecord<String, byte[]> r = letters.get(b.id());
            assertNotNull(r, "dead letter of " + b.id());
            assertEquals(key, r.key());
            assertEquals(b.value(), new String(r.value(), StandardCharsets.UTF_8));
            assertEquals(b.code(), header(r, KafkaHeaders.DLQ_REASON));
            assertEquals(b.field(), header(r, KafkaHeaders.DLQ_FIELD));
            assertEquals("qwen.requests", header(r, KafkaHeaders.DLQ_SOURCE_TOPIC));
            assertNotNull(header(r, KafkaHeaders.DLQ_MESSAGE));
        }
    }

    @Test
    void aResponseFormatInTheRequestJsonConstrainsTheReply() throws Exception {
        String id = "choice-" + UUID.randomUUID();
        ReplyStream replies = client.expect(id);
        send(id, id, "{\"prompt\":\"Sentiment:\",\"sampling\":{\"temperature\":1,\"seed\":3,\"maxTokens\":10,"
                + "\"responseFormat\":{\"choice\":[\"positive\",\"negative\",\"neutral\"]}}}", null);
        List<GenerateResponse> rs = replies.collect(WAIT);
        assertComplete(id, rs);
        StringBuilder text = new StringBuilder();
        rs.stream().filter(GenerateResponse::hasChunk).forEach(r -> text.append(r.getChunk().getText()));
        assertTrue(List.of("positive", "negative", "neutral").contains(text.toString()), text.toString());
    }

    @Test
    void controlTopicCancelsARunningRequestAndOneNotYetArrived() throws Exception {
        String id = "cancel-running-" + UUID.randomUUID();
        ReplyStream s = client.chat(chat(id, "a long story", 4000));
        assertNotNull(s.poll(WAIT), "first chunk");
        client.cancel(id);
        List<GenerateResponse> rs = s.collect(WAIT);
        GenerateResponse end = rs.get(rs.size() - 1);
        assertEquals(FinishReason.FINISH_REASON_CANCELLED, end.getFinal().getFinishReason(), end.toString());

        String early = "cancel-early-" + UUID.randomUUID();
        client.cancel(early);
        bridge.whenCancelRead(early).get(30, TimeUnit.SECONDS); // read on the control topic's own thread
        List<GenerateResponse> er = client.chat(chat(early, "never mind", 4000)).collect(WAIT);
        assertEquals(FinishReason.FINISH_REASON_CANCELLED, er.get(er.size() - 1).getFinal().getFinishReason());
    }

    @Test
    void deadlineHeaderEndsARequestWithDeadline() throws Exception {
        String passed = "deadline-passed-" + UUID.randomUUID();
        List<GenerateResponse> rs = client.send(chat(passed, "too late", 16),
                new KafkaChatClient.Send(null, Instant.now().minusSeconds(1), null)).collect(WAIT);
        assertEquals(1, rs.size());
        assertEquals(FinishReason.FINISH_REASON_DEADLINE, rs.get(0).getFinal().getFinishReason());

        String running = "deadline-running-" + UUID.randomUUID();
        rs = client.send(chat(running, "a long story", 4000), new KafkaChatClient.Send(null, Instant.now().plusMillis(1500), null))
                .collect(WAIT);
        assertComplete(running, rs);
        assertEquals(FinishReason.FINISH_REASON_DEADLINE, rs.get(rs.size() - 1).getFinal().getFinishReason());
    }

    /** The README's kcat command, with this test's broker. */
    @Test
    void jsonRequestProducedWithKcatIsAnswered() throws Exception {
        Assumptions.assumeTrue(kcatInstalled(), "kcat is not installed (Debian package kcat; bin/test installs it where apt-get can): "
                + "skipping the kcat round trip");
        ReplyStream s = client.expect("kcat-1");
        String command = "echo '{\"requestId\":\"kcat-1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello from kcat\"}],"
                + "\"sampling\":{\"maxTokens\":16}}' | kcat -P -b " + bootstrap + " -t qwen.requests -k kcat-1";
        Process p = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        List<GenerateResponse> rs = s.collect(WAIT);
        assertComplete("kcat-1", rs);
        assertEquals(16, rs.get(rs.size() - 1).getFinal().getUsage().getCompletionTokens());
    }

    @Test
    void kafkaHasItsOwnHealthCheckAndMetrics() throws Exception {
        client.chat(chat("metrics-" + UUID.randomUUID(), "hi", 2)).collect(WAIT);
        given().get("/q/health/group/kafka").then().statusCode(200).body(containsString("\"kafka\""))
                .body(containsString("assigned_partitions"));
        given().get("/q/health/ready").then().statusCode(200).body(not(containsString("\"kafka\"")));
        given().get("/q/health/live").then().statusCode(200).body(containsString("\"kafka-loops\""));
        String[] scraped = {""};
        Await.until(Duration.ofSeconds(10), "the consumer lag metric", () -> (scraped[0] = given().get("/q/metrics").asString())
                .contains("qwen_kafka_consumer_lag{"));
        String metrics = scraped[0];
        assertTrue(metrics.contains("qwen_kafka_consumer_lag{partition=\"0\",topic=\"qwen.requests\"}"), metrics);
        assertTrue(metrics.contains("qwen_kafka_requests_in_flight "), metrics);
        assertTrue(metrics.contains("qwen_kafka_requests_total{outcome=\"answered\"}"), metrics);
        assertTrue(metrics.contains("qwen_kafka_broker_up 1.0"), metrics);
        assertTrue(metrics.contains("qwen_kafka_deferred_total{reason=\"queue_full\"}"), metrics);
    }

    /** {@code bin/qwen load --target kafka}: the load generator's Kafka target, end to end. */
    @Test
    void loadGeneratorOverKafkaWritesItsSummary() throws Exception {
        java.nio.file.Path out = java.nio.file.Files.createTempDirectory("kafka-load");
        int rc = new picocli.CommandLine(new io.qwenserve.loadtest.LoadCli()).execute("--target", "kafka", "--bootstrap", bootstrap,
                "--concurrency", "4", "--duration", "3", "--max-requests", "8", "--prompt-tokens", "8", "--max-tokens", "6",
                "--out", out.toString());
        assertEquals(0, rc);
        var summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals("kafka", summary.path("target").asText());
        assertTrue(summary.path("requests_completed").asInt() >= 4, summary.toString());
        assertTrue(summary.path("requests_failed").isEmpty(), summary.toString());
        assertTrue(summary.path("ttft_ms").path("p50").asDouble() > 0, summary.toString());
        assertTrue(java.nio.file.Files.size(out.resolve("report.html")) > 0);
    }

    static ChatRequest chat(String id, String user, int maxTokens) {
        return ChatRequest.newBuilder().setRequestId(id).addMessages(Message.newBuilder().setRole("user").setContent(user))
                .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(maxTokens)).build();
    }

    private static String json(String id) {
        return "{\"requestId\":\"" + id + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"sampling\":{\"maxTokens\":4}}";
    }

    private static void send(String key, String correlationId, String value, String contentType) throws Exception {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>("qwen.requests", key, value.getBytes(StandardCharsets.UTF_8));
        r.headers().add(KafkaHeaders.CORRELATION_ID, correlationId.getBytes(StandardCharsets.UTF_8));
        if (contentType != null) {
            r.headers().add(KafkaHeaders.CONTENT_TYPE, contentType.getBytes(StandardCharsets.UTF_8));
        }
        raw.send(r).get();
    }

    /** Dead letters of this run (by correlation id), read from the start of the dead-letter topic. */
    private static Map<String, ConsumerRecord<String, byte[]>> deadLetters(int expected, String run) {
        Map<String, ConsumerRecord<String, byte[]>> found = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition("qwen.requests.dlq", 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long until = System.currentTimeMillis() + WAIT.toMillis();
            while (found.size() < expected && System.currentTimeMillis() < until) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    String id = header(r, KafkaHeaders.CORRELATION_ID);
                    if (id != null && id.endsWith(run)) {
                        found.put(id, r);
                    }
                }
            }
        }
        return found;
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Seqs 0, 1, 2, ... with chunks first and exactly one terminal message, last; every message names the request. */
    static void assertComplete(String requestId, List<GenerateResponse> rs) {
        assertFalse(rs.isEmpty(), requestId);
        for (int i = 0; i < rs.size(); i++) {
            GenerateResponse r = rs.get(i);
            assertEquals(requestId, r.getRequestId());
            boolean last = i == rs.size() - 1;
            assertEquals(!last, r.hasChunk(), requestId + " message " + i + ": " + r);
            long seq = r.hasChunk() ? r.getChunk().getSeq() : r.hasFinal() ? r.getFinal().getSeq() : r.getError().getSeq();
            assertEquals(i, seq, requestId);
        }
    }

    private static List<Integer> ids(List<GenerateResponse> rs) {
        List<Integer> ids = new ArrayList<>();
        rs.stream().filter(GenerateResponse::hasChunk).forEach(r -> ids.addAll(r.getChunk().getTokenIdsList()));
        return ids;
    }

    private static boolean kcatInstalled() {
        try {
            return new ProcessBuilder("kcat", "-V").redirectErrorStream(true).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
