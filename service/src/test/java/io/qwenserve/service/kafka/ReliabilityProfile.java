package io.qwenserve.service.kafka;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.List;
import java.util.Map;

/**
 * Faults and overload, on topics and a consumer group of their own: two sequences per step and four waiting (so that a
 * few HTTP clients fill the engine's queue), one request partition, a partition that cannot move for 3 s fails
 * liveness, and two failing engine steps in a row mark the engine failed.
 */
public class ReliabilityProfile implements QuarkusTestProfile {
    static final String GROUP = "qwen-reliability";
    static final String REQUESTS = "qwen.rel.requests";
    static final String REPLIES = "qwen.rel.replies";
    static final String CANCEL = "qwen.rel.cancel";
    static final String DLQ = "qwen.rel.dlq";
    static final int MAX_BATCH = 2;
    static final int QUEUE = 4;

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.ofEntries(Map.entry("qwen.kafka.enabled", "true"), Map.entry("qwen.kafka.group-id", GROUP),
                Map.entry("qwen.kafka.request-topic", REQUESTS), Map.entry("qwen.kafka.reply-topic", REPLIES),
                Map.entry("qwen.kafka.cancel-topic", CANCEL), Map.entry("qwen.kafka.dead-letter-topic", DLQ),
                Map.entry("qwen.kafka.request-partitions", "1"), Map.entry("qwen.kafka.reply-partitions", "2"),
                Map.entry("qwen.kafka.max-in-flight", "8"), Map.entry("qwen.kafka.stuck-partition-timeout", "3s"),
                Map.entry("qwen.engine.max-batch", Integer.toString(MAX_BATCH)), Map.entry("qwen.engine.queue-size", Integer.toString(QUEUE)),
                Map.entry("qwen.engine.max-step-failures", "2"));
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(KafkaProfile.Broker.class));
    }
}
