package io.qwenserve.service.kafka;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.client.ReplyStream;
import io.qwenserve.proto.kafka.KafkaEncoding;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.Await;
import io.qwenserve.service.FaultFigures;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.KafkaTestBroker;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Kafka under overload and faults, against a real broker, with real HTTP clients and the figures of the README's
 * reliability table ({@link FaultFigures}).
 */
@QuarkusTest
@TestProfile(ReliabilityProfile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReliabilityTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @Inject
    EngineHolder holder;

    @Inject
    KafkaBridge bridge;

    @Inject
    MeterRegistry registry;

    static KafkaChatClient client;
    static RawKafka raw;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
        bridge.whenRunning().get(60, TimeUnit.SECONDS);
        if (client == null) {
            client = new KafkaChatClient(KafkaTestBroker.bootstrap(), new KafkaChatClient.Options(ReliabilityProfile.REQUESTS,
                    ReliabilityProfile.REPLIES, ReliabilityProfile.CANCEL, KafkaEncoding.JSON));
            raw = new RawKafka(KafkaTestBroker.bootstrap());
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

    private double deferred() {
        return Search.in(registry).name("qwen.kafka.deferred").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    private long lag() throws Exception {
        return raw.lag(ReliabilityProfile.GROUP, ReliabilityProfile.REQUESTS);
    }

    private static int port() {
        return org.eclipse.microprofile.config.ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
    }

    /** An HTTP client that asks for a long chat answer and holds its connection until closed (closing cancels it). */
    private static Socket longHttpChat() throws Exception {
        byte[] body = ("{\"messages\": [{\"role\": \"user\", \"content\": \"a long story\"}], \"temperature\": 0, \"max_tokens\": 3000}")
                .getBytes(StandardCharsets.UTF_8);
        Socket socket = new Socket("localhost", port());
        socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(body);
        socket.getOutputStream().flush();
        return socket;
    }

    private static String chat(String id, int maxTokens) {
        return "{\"requestId\":\"" + id + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi " + id + "\"}],"
                + "\"sampling\":{\"temperature\":0,\"maxTokens\":" + maxTokens + "}}";
    }

    /** Outcome counts of a batch of reply streams: [completed, failed (error reply), lost (no terminal reply), duplicated]. */
    private static int[] outcomes(Map<String, ReplyStream> streams, Duration wait) throws InterruptedException {
        int[] n = new int[4];
        long deadline = System.nanoTime() + wait.toNanos();
        for (var e : streams.entrySet()) {
            try {
                List<GenerateResponse> rs = e.getValue().collect(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                n[rs.get(rs.size() - 1).hasFinal() ? 0 : 1]++;
                if (rs.get(rs.size() - 1).hasError()) {
                    System.out.println("error reply: " + rs.get(rs.size() - 1));
                }
            } catch (TimeoutException lost) {
                n[2]++;
            }
            n[3] += e.getValue().duplicates() > 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    @Order(1)
    void overloadBuildsLagInsteadOfErrorReplies() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        // HTTP clients fill the engine's batch, then its queue (in that order: a burst could find the queue full)
        List<Socket> http = new ArrayList<>();
        for (int i = 0; i < ReliabilityProfile.MAX_BATCH; i++) {
            http.add(longHttpChat());
        }
        holder.engine().awaitStats(s -> s.running() == ReliabilityProfile.MAX_BATCH, Duration.ofSeconds(60));
        for (int i = 0; i < ReliabilityProfile.QUEUE; i++) {
            http.add(longHttpChat());
        }
        holder.engine().awaitStats(s -> s.running() == ReliabilityProfile.MAX_BATCH && s.waiting() == ReliabilityProfile.QUEUE,
                Duration.ofSeconds(60));
        double deferredBefore = deferred();
        Map<String, ReplyStream> streams = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            String id = "overload-" + run + "-" + i;
            streams.put(id, client.expect(id));
            raw.producer.send(RawKafka.record(ReliabilityProfile.REQUESTS, id, chat(id, 4), KafkaHeaders.CORRELATION_ID, id,
                    KafkaHeaders.REPLY_TO, ReliabilityProfile.REPLIES));
        }
        raw.producer.flush();
        Await.until(Duration.ofSeconds(60), "the bridge defers Kafka requests while the queue is full", () -> deferred() > deferredBefore);
        Await.until(Duration.ofSeconds(60), "the consumer group's lag holds all 200 requests", () -> quietly(this::lag) == 200);
        assertTrue(bridge.health().paused(), "intake is paused");

        AtomicLong maxLag = new AtomicLong(200);
        AtomicBoolean sampling = new AtomicBoolean(true);
        CompletableFuture<Void> sampler = CompletableFuture.runAsync(() -> {
            while (sampling.get()) {
                maxLag.accumulateAndGet(quietly(this::lag), Math::max);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long stepsBefore = holder.engine().stats().steps();
        long released = System.nanoTime();
        for (Socket s : http) {
            s.close(); // the HTTP clients go away: their generations are cancelled, the queue empties
        }
        int[] n = outcomes(streams, WAIT);
        long recoverMs = (System.nanoTime() - released) / 1_000_000;
        long steps = holder.engine().stats().steps() - stepsBefore;
        Await.until(Duration.ofSeconds(30), "the lag falls to 0 (every offset committed)", () -> quietly(this::lag) == 0);
        sampling.set(false);
        sampler.get();
        FaultFigures.report("engine queue held full by HTTP clients while 200 Kafka requests arrive", 200, n[0], n[1], n[2], n[3],
                recoverMs, "lag 0 -> " + maxLag.get() + " -> 0; " + (long) (deferred() - deferredBefore) + " deferrals, no error reply; "
                        + steps + " engine steps (batches of <= 2) in the time to recover, " + String.format("%.1f", recoverMs / (double) steps)
                        + " ms per step");
        assertEquals(200, n[0], "every Kafka request completed (failed " + n[1] + ", lost " + n[2] + ")");
    }

    @Test
    @Order(2)
    void tenThousandMalformedRecordsAreDeadLetteredWithoutStallingGoodOnes() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String badKey = "bad-" + run;
        long t0 = System.nanoTime();
        Map<String, ReplyStream> good = new LinkedHashMap<>();
        for (int i = 0; i < 10_000; i++) {
            if (i % 1000 == 500) {
                String id = "good-" + run + "-" + i;
                good.put(id, client.expect(id));
                raw.producer.send(RawKafka.record(ReliabilityProfile.REQUESTS, id, chat(id, 3), KafkaHeaders.CORRELATION_ID, id));
            }
            raw.producer.send(RawKafka.record(ReliabilityProfile.REQUESTS, badKey, "x")); // one byte, not JSON
        }
        raw.producer.flush();
        int[] n = outcomes(good, WAIT);
        var letters = raw.read(ReliabilityProfile.DLQ, r -> badKey.equals(r.key()),
                r -> RawKafka.header(r, KafkaHeaders.DLQ_SOURCE_OFFSET), 10_000, WAIT);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Await.until(Duration.ofSeconds(30), "the lag falls to 0: the partition never stalled", () -> quietly(this::lag) == 0);
        FaultFigures.report("10,000 malformed records (1 byte, one partition) among 10 good ones", 10_010, n[0], letters.size(), n[2],
                n[3], -1, letters.size() + " dead-lettered with their reason; whole run " + ms + " ms");
        assertEquals(10, n[0], "the good requests were answered");
        assertEquals(10_000, letters.size(), "every malformed record is in the dead-letter topic");
        for (var r : letters.values()) {
            assertEquals("INVALID_ARGUMENT", RawKafka.header(r, KafkaHeaders.DLQ_REASON));
            assertEquals("value", RawKafka.header(r, KafkaHeaders.DLQ_FIELD));
            assertEquals(ReliabilityProfile.REQUESTS, RawKafka.header(r, KafkaHeaders.DLQ_SOURCE_TOPIC));
        }
    }

    /** Sets the dead-letter topic's largest record (batch) size. */
    private static void dlqMaxBytes(int bytes) throws Exception {
        raw.admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, ReliabilityProfile.DLQ),
                List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", Integer.toString(bytes)), AlterConfigOp.OpType.SET))))
                .all().get();
    }

    @Test
    @Order(3)
    void aPartitionThatCannotMoveFailsLivenessUntilItMovesAgain() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String big = "big-" + run;
        dlqMaxBytes(4096); // the dead-letter topic now refuses the record below
        ReplyStream refused = client.expect(big);
        raw.send(RawKafka.record(ReliabilityProfile.REQUESTS, big, "y".repeat(8192), KafkaHeaders.CORRELATION_ID, big));
        String after = "after-" + run;
        ReplyStream served = client.expect(after);
        raw.send(RawKafka.record(ReliabilityProfile.REQUESTS, after, chat(after, 3), KafkaHeaders.CORRELATION_ID, after));
        assertTrue(refused.collect(WAIT).get(0).hasError(), "the malformed record is answered with an error");
        assertTrue(served.collect(WAIT).get(0).hasChunk(), "the next record is served: the partition reads on");
        Await.until(Duration.ofSeconds(60), "liveness fails: the record cannot be dead-lettered",
                () -> given().get("/q/health/live").statusCode() == 503);
        given().get("/q/health/live").then().statusCode(503).body(containsString("cannot move"));
        given().get("/q/health/ready").then().statusCode(200);
        assertTrue(quietly(this::lag) >= 2, "the record holds the commit point");

        long fixed = System.nanoTime();
        dlqMaxBytes(1048588); // Kafka's default
        Await.until(WAIT, "liveness recovers once the dead letter goes through", () -> given().get("/q/health/live").statusCode() == 200);
        long recoverMs = (System.nanoTime() - fixed) / 1_000_000;
        Await.until(Duration.ofSeconds(30), "the lag falls to 0", () -> quietly(this::lag) == 0);
        assertEquals(1, raw.read(ReliabilityProfile.DLQ, r -> big.equals(r.key()), r -> "x", 1, WAIT).size());
        FaultFigures.report("dead-letter topic refuses a record (too large) until its limit is raised", 2, 1, 1, 0, 0, recoverMs,
                "liveness DOWN after 3 s (qwen.kafka.stuck-partition-timeout), UP again after the fix");
    }

    private static List<GenerateResponse> drain(Iterator<GenerateResponse> it) {
        List<GenerateResponse> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        return all;
    }

    @Test
    @Order(4)
    void aStepThatThrowsFailsOnlyItsBatch() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (GrpcTestClient grpc = new GrpcTestClient()) {
            Iterator<GenerateResponse> overGrpc = grpc.blocking().chat(GrpcTestClient.chat("step-grpc-" + run, "a long story", 3000));
            String kafkaId = "step-kafka-" + run;
            ReplyStream overKafka = client.chat(GrpcTestClient.chat(kafkaId, "a long story", 3000));
            holder.engine().awaitStats(s -> s.running() == 2, Duration.ofSeconds(60)); // both in the batch
            long injected = System.nanoTime();
            holder.engine().injectStepFailures(1);
            List<GenerateResponse> g = drain(overGrpc);
            List<GenerateResponse> k = overKafka.collect(WAIT);
            assertTrue(g.get(g.size() - 1).hasError(), "the gRPC stream of the failing step ends with an error: " + g.get(g.size() - 1));
            assertTrue(k.get(k.size() - 1).hasError(), "so does the Kafka request's: " + k.get(k.size() - 1));
            assertTrue(k.get(k.size() - 1).getError().getRetryable());

            List<GenerateResponse> after = GrpcTestClient.collect(grpc.blocking().chat(GrpcTestClient.chat("after-" + run, "hi", 4)));
            List<GenerateResponse> afterKafka = client.chat(GrpcTestClient.chat("after-kafka-" + run, "hi", 4)).collect(WAIT);
            long recoverMs = (System.nanoTime() - injected) / 1_000_000;
            assertTrue(after.get(after.size() - 1).hasFinal(), "the next request succeeds");
            assertTrue(afterKafka.get(afterKafka.size() - 1).hasFinal(), "over Kafka too");
            assertFalse(holder.engine().failed());
            holder.engine().checkInvariants();
            assertEquals(0, holder.engine().stats().kvBlocksUsed(), "the failed sequences' blocks were freed");
            given().get("/q/health/ready").then().statusCode(200);
            given().get("/q/health/live").then().statusCode(200);
            FaultFigures.report("one engine step throws (test hook), 2 sequences in it", 4, 2, 2, 0, 0, recoverMs,
                    "only the step's own gRPC and Kafka requests end with an error; the next ones succeed; ready and live throughout");
        }
    }

    @Test
    @Order(5)
    void failingStepsInARowMarkTheEngineFailedAndTheProbesSaySo() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (GrpcTestClient grpc = new GrpcTestClient()) {
            List<Iterator<GenerateResponse>> streams = new ArrayList<>();
            for (int i = 0; i < ReliabilityProfile.MAX_BATCH + ReliabilityProfile.QUEUE; i++) {
                streams.add(grpc.blocking().chat(GrpcTestClient.chat("doomed-" + i + "-" + run, "a long story", 3000)));
                int submitted = i + 1; // one at a time: a burst could find the queue full before the first ones are admitted
                holder.engine().awaitStats(s -> s.running() + s.waiting() == submitted, Duration.ofSeconds(60));
            }
            holder.engine().awaitStats(s -> s.running() == ReliabilityProfile.MAX_BATCH && s.waiting() == ReliabilityProfile.QUEUE,
                    Duration.ofSeconds(60));
            long injected = System.nanoTime();
            holder.engine().injectStepFailures(2); // qwen.engine.max-step-failures
            int failed = 0;
            for (Iterator<GenerateResponse> s : streams) {
                List<GenerateResponse> rs = drain(s);
                failed += rs.get(rs.size() - 1).hasError() ? 1 : 0;
            }
            assertEquals(streams.size(), failed, "the two failing steps' requests and those still waiting all end with an error");
            assertTrue(holder.engine().failed());
            Await.until(Duration.ofSeconds(30), "readiness goes down", () -> given().get("/q/health/ready").statusCode() == 503);
            given().get("/q/health/ready").then().statusCode(503).body(containsString("engine failed"));
            given().get("/q/health/live").then().statusCode(503).body(containsString("engine failed"));
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> GrpcTestClient.collect(grpc.blocking().chat(GrpcTestClient.chat("too-late-" + run, "hi", 2))));
            assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());

            // Kafka: this replica leaves the group; a request sent now waits in its topic for a healthy replica
            Await.until(Duration.ofSeconds(60), "the consumer group has no member left", () -> quietly(() ->
                    raw.admin.describeConsumerGroups(List.of(ReliabilityProfile.GROUP)).all().get().get(ReliabilityProfile.GROUP)
                            .members().size()) == 0);
            raw.send(RawKafka.record(ReliabilityProfile.REQUESTS, "waits-" + run, chat("waits-" + run, 4)));
            assertTrue(lag() >= 1, "the request is not consumed by the failed replica");
            FaultFigures.report("2 engine steps in a row throw (qwen.engine.max-step-failures=2), 6 requests in the engine", 7, 0, 6, 0, 0,
                    -1, "all 6 end with an error; readiness and liveness DOWN " + ((System.nanoTime() - injected) / 1_000_000)
                            + " ms after the injection; the Kafka request sent afterwards stays in its topic (the replica left the group)");
        }
    }

    interface Check {
        long get() throws Exception;
    }

    private static long quietly(Check c) {
        try {
            return c.get();
        } catch (Exception e) {
            return -1;
        }
    }
}
