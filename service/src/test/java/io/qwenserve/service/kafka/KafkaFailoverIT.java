package io.qwenserve.service.kafka;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.client.ReplyStream;
import io.qwenserve.proto.kafka.KafkaEncoding;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.Await;
import io.qwenserve.service.KafkaTestBroker;
import io.qwenserve.service.ServiceProcess;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Two replicas (the packaged service as real processes) in one consumer group; one is killed with SIGKILL while it
 * generates. Every request still gets a complete reply stream: the other replica redoes the unfinished ones, and what
 * the redo repeats is identical (token ids by token index, text by offset), so the client's de-duplication by token
 * index leaves each stream whole.
 */
class KafkaFailoverIT {
    private static final Pattern ASSIGNED = Pattern.compile("\"assigned_partitions\"\\s*:\\s*(\\d+)");
    private static final int REQUESTS = 12;

    @Test
    void requestsOfAKilledReplicaAreRedoneByTheOther() throws Exception {
        String bootstrap = KafkaTestBroker.bootstrap();
        String run = "failover-" + UUID.randomUUID().toString().substring(0, 8);
        KafkaChatClient.Options topics = new KafkaChatClient.Options(run + ".requests", run + ".replies", run + ".cancel",
                KafkaEncoding.JSON);
        Map<String, String> props = Map.of("qwen.kafka.enabled", "true", "kafka.bootstrap.servers", bootstrap,
                "qwen.kafka.group-id", run, "qwen.kafka.request-topic", topics.requestTopic(),
                "qwen.kafka.reply-topic", topics.replyTopic(), "qwen.kafka.cancel-topic", topics.cancelTopic(),
                "qwen.kafka.dead-letter-topic", run + ".dlq", "qwen.kafka.request-partitions", "4",
                // a killed replica's partitions move after 3 s instead of 45
                "kafka.session.timeout.ms", "3000", "kafka.heartbeat.interval.ms", "500");
        CompletableFuture<ServiceProcess> startA = CompletableFuture.supplyAsync(() -> start("kafka-replica-a", props));
        CompletableFuture<ServiceProcess> startB = CompletableFuture.supplyAsync(() -> start("kafka-replica-b", props));
        try (ServiceProcess a = kafkaReady(startA.get()); ServiceProcess b = kafkaReady(startB.get());
             RawReplies raw = new RawReplies(bootstrap, topics.replyTopic());
             KafkaChatClient client = new KafkaChatClient(bootstrap, topics)) {
            awaitBalanced(a, b);
            Map<String, ReplyStream> streams = new HashMap<>();
            for (int i = 0; i < REQUESTS; i++) {
                String id = run + "-" + i;
                streams.put(id, client.chat(KafkaBridgeTest.chat(id, "tell me about number " + i, 120)));
            }
            ServiceProcess victim = awaitBothGenerating(raw, a, b);
            Set<String> cutOff = raw.unfinishedOf(replica(victim));
            victim.process.destroyForcibly(); // SIGKILL
            assertFalse(cutOff.isEmpty(), "the victim was generating");

            for (var e : streams.entrySet()) {
                KafkaBridgeTest.assertComplete(e.getKey(), e.getValue().collect(Duration.ofSeconds(120)));
            }
            Map<String, List<GenerateResponse>> all = raw.byRequest();
            for (String id : cutOff) {
                assertTrue(all.get(id).stream().anyMatch(r -> !r.hasChunk()), id + " was finished by the survivor");
            }
            assertRepeatsAreIdentical(all);
        }
    }

    private static ServiceProcess start(String name, Map<String, String> props) {
        try {
            return ServiceProcess.start(name, props);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Readiness is the engine's; the Kafka bridge (and the topics it creates) has its own health check. */
    private static ServiceProcess kafkaReady(ServiceProcess p) throws Exception {
        Await.until(Duration.ofSeconds(120), "the Kafka bridge of " + p.log + " runs", () -> p.status("/q/health/group/kafka") == 200);
        return p;
    }

    /** Both replicas hold request partitions (the second one's join has been rebalanced). */
    private static void awaitBalanced(ServiceProcess a, ServiceProcess b) throws Exception {
        long until = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < until) {
            int pa = assigned(a);
            int pb = assigned(b);
            if (pa > 0 && pb > 0 && pa + pb == 4) {
                return;
            }
            Thread.sleep(200);
        }
        fail("the two replicas never shared the partitions");
    }

    private static int assigned(ServiceProcess p) throws Exception {
        Matcher m = ASSIGNED.matcher(p.get("/q/health/group/kafka"));
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** Waits until both replicas stream chunks; returns the one with the most requests still generating. */
    private static ServiceProcess awaitBothGenerating(RawReplies raw, ServiceProcess a, ServiceProcess b) throws Exception {
        long until = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < until) {
            int ua = raw.unfinishedOf(replica(a)).size();
            int ub = raw.unfinishedOf(replica(b)).size();
            if (ua > 0 && ub > 0) {
                return ua >= ub ? a : b;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("both replicas should be generating");
    }

    private static String replica(ServiceProcess p) {
        return "-" + p.process.pid();
    }

    /**
     * What a redo repeats is what the first attempt sent: the same token id at every token index and the same character at
     * every text offset, however the two attempts cut their chunks.
     */
    private static void assertRepeatsAreIdentical(Map<String, List<GenerateResponse>> all) {
        int repeated = 0;
        for (var e : all.entrySet()) {
            Map<Integer, Integer> ids = new HashMap<>();
            Map<Integer, Integer> chars = new HashMap<>();
            for (GenerateResponse r : e.getValue()) {
                if (!r.hasChunk()) {
                    continue;
                }
                var c = r.getChunk();
                for (int i = 0; i < c.getTokenIdsCount(); i++) {
                    Integer earlier = ids.putIfAbsent(c.getFirstTokenIndex() + i, c.getTokenIds(i));
                    if (earlier != null) {
                        repeated++;
                        assertEquals(earlier, c.getTokenIds(i), e.getKey() + " token " + (c.getFirstTokenIndex() + i));
                    }
                }
                int[] cps = c.getText().codePoints().toArray();
                for (int i = 0; i < cps.length; i++) {
                    Integer earlier = chars.putIfAbsent(c.getTextOffset() + i, cps[i]);
                    if (earlier != null) {
                        assertEquals(earlier, cps[i], e.getKey() + " character " + (c.getTextOffset() + i));
                    }
                }
            }
        }
        assertTrue(repeated > 0, "the redone requests repeated tokens of their first attempts");
    }

    /** Every record of the reply topic from now on, with the replica that sent it. */
    private static final class RawReplies implements AutoCloseable {
        private final KafkaConsumer<String, byte[]> consumer;
        private final List<ConsumerRecord<String, byte[]>> records = Collections.synchronizedList(new ArrayList<>());
        private final AtomicBoolean open = new AtomicBoolean(true);
        private final Thread reader;

        RawReplies(String bootstrap, String topic) {
            consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringDeserializer(),
                    new ByteArrayDeserializer());
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position);
            reader = new Thread(() -> {
                while (open.get()) {
                    consumer.poll(Duration.ofMillis(50)).forEach(records::add);
                }
            });
            reader.start();
        }

        /** Requests the replica (its id ends with "-PID") sent chunks for but no terminal message. */
        Set<String> unfinishedOf(String replicaSuffix) {
            Set<String> started = new HashSet<>();
            Set<String> ended = new HashSet<>();
            synchronized (records) {
                for (ConsumerRecord<String, byte[]> r : records) {
                    String replica = new String(r.headers().lastHeader(KafkaHeaders.REPLICA).value(), StandardCharsets.UTF_8);
                    if (replica.endsWith(replicaSuffix)) {
                        (parse(r).hasChunk() ? started : ended).add(r.key());
                    }
                }
            }
            started.removeAll(ended);
            return started;
        }

        Map<String, List<GenerateResponse>> byRequest() {
            synchronized (records) {
                return records.stream().map(RawReplies::parse)
                        .collect(Collectors.groupingBy(GenerateResponse::getRequestId, Collectors.toList()));
            }
        }

        private static GenerateResponse parse(ConsumerRecord<String, byte[]> r) {
            try {
                return KafkaEncoding.JSON.decode(r.value(), GenerateResponse.newBuilder()).build();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws InterruptedException {
            open.set(false);
            reader.join();
            consumer.close();
        }
    }
}
