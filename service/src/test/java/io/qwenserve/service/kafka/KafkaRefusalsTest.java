package io.qwenserve.service.kafka;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.client.ReplyStream;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.KafkaTestBroker;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Kafka requests the service refuses for good: a reply-to topic that is not allowed or does not exist (answered on the
 * default reply topic), a priority outside {@code qwen.kafka.priority-range}, more stop strings than
 * {@code qwen.engine.max-stop-strings} (16). Each gets one terminal error reply and a
 * dead letter with the reason, and a good request behind them in the same partition is still served.
 */
@QuarkusTest
@TestProfile(KafkaProfile.class)
class KafkaRefusalsTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    EngineHolder holder;

    @Inject
    KafkaBridge bridge;

    static KafkaChatClient client;
    static RawKafka raw;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
        bridge.whenRunning().get(60, TimeUnit.SECONDS);
        if (client == null) {
            client = new KafkaChatClient(KafkaTestBroker.bootstrap());
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

    private static String chat(String id, int priority) {
        return "{\"requestId\":\"" + id + "\",\"priority\":" + priority + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"sampling\":{\"maxTokens\":3}}";
    }

    private static String chatWithStops(String id, int stops) {
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < stops; i++) {
            list.append(i == 0 ? "" : ",").append("\"stop").append(i).append('"');
        }
        return "{\"requestId\":\"" + id + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"sampling\":{\"maxTokens\":3,"
                + "\"stop\":[" + list + "]}}";
    }

    @Test
    void refusedReplyTopicsAndPrioritiesAreAnsweredOnTheDefaultTopicAndDeadLettered() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        record Refused(String id, String replyTo, String priorityHeader, int priority, String code, String field) {}
        List<Refused> refused = List.of(
                new Refused("elsewhere-" + run, "some.other.topic", null, 0, "PERMISSION_DENIED", "reply-to"),
                new Refused("absent-" + run, KafkaProfile.ABSENT_REPLY_TOPIC, null, 0, "NOT_FOUND", "reply-to"),
                new Refused("priority-field-" + run, null, null, 9, "INVALID_ARGUMENT", "priority"),
                new Refused("priority-header-" + run, null, "-1", 0, "INVALID_ARGUMENT", "priority"),
                new Refused("stops-" + run, null, null, 0, "INVALID_ARGUMENT", "stop")); // 17 stop strings: one over the cap
        String key = "refusals-" + run; // one partition: the good request behind the refused ones must still be served
        Map<String, ReplyStream> streams = new java.util.HashMap<>();
        for (Refused r : refused) {
            streams.put(r.id(), client.expect(r.id()));
            List<String> headers = new java.util.ArrayList<>(List.of(KafkaHeaders.CORRELATION_ID, r.id()));
            if (r.replyTo() != null) {
                headers.addAll(List.of(KafkaHeaders.REPLY_TO, r.replyTo()));
            }
            if (r.priorityHeader() != null) {
                headers.addAll(List.of(KafkaHeaders.PRIORITY, r.priorityHeader()));
            }
            String value = r.field().equals("stop") ? chatWithStops(r.id(), 17) : chat(r.id(), r.priority());
            raw.send(RawKafka.record("qwen.requests", key, value, headers.toArray(String[]::new)));
        }
        ReplyStream good = client.expect("allowed-priority-" + run);
        raw.send(RawKafka.record("qwen.requests", key, chat("allowed-priority-" + run, 5), KafkaHeaders.CORRELATION_ID,
                "allowed-priority-" + run));

        KafkaBridgeTest.assertComplete("allowed-priority-" + run, good.collect(WAIT));
        for (Refused r : refused) {
            List<GenerateResponse> rs = streams.get(r.id()).collect(WAIT);
            assertEquals(1, rs.size(), r.id());
            assertTrue(rs.get(0).hasError(), rs.toString());
            assertEquals(r.code(), rs.get(0).getError().getCode(), rs.toString());
            assertEquals(r.field(), rs.get(0).getError().getField(), rs.toString());
            assertFalse(rs.get(0).getError().getRetryable());
        }
        Map<String, ConsumerRecord<String, byte[]>> letters = raw.read("qwen.requests.dlq",
                rec -> String.valueOf(RawKafka.header(rec, KafkaHeaders.CORRELATION_ID)).endsWith(run),
                rec -> RawKafka.header(rec, KafkaHeaders.CORRELATION_ID), refused.size(), WAIT);
        for (Refused r : refused) {
            ConsumerRecord<String, byte[]> letter = letters.get(r.id());
            assertNotNull(letter, "dead letter of " + r.id());
            assertEquals(r.code(), RawKafka.header(letter, KafkaHeaders.DLQ_REASON));
            assertEquals(r.field(), RawKafka.header(letter, KafkaHeaders.DLQ_FIELD));
            assertNotNull(RawKafka.header(letter, KafkaHeaders.DLQ_MESSAGE));
        }
        assertTrue(RawKafka.header(letters.get("elsewhere-" + run), KafkaHeaders.DLQ_MESSAGE).contains("some.other.topic"));
    }
}
