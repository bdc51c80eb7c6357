package io.qwenserve.service.kafka;

import io.qwenserve.service.KafkaTestBroker;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.List;
import java.util.Map;

/**
 * Kafka on, against the test JVM's broker; at most 8 requests in flight; prompts up to 256 tokens; replies may also go
 * to {@link #ABSENT_REPLY_TOPIC} (which does not exist); Kafka requests may ask for priorities 0 to 5.
 */
public class KafkaProfile implements QuarkusTestProfile {
    static final String ABSENT_REPLY_TOPIC = "qwen.replies.absent";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("qwen.kafka.enabled", "true", "qwen.kafka.max-in-flight", "8", "qwen.engine.max-prompt-tokens", "256",
                "qwen.kafka.request-partitions", "4", "qwen.kafka.reply-partitions", "4",
                "qwen.kafka.reply-topics", "qwen.replies," + ABSENT_REPLY_TOPIC, "qwen.kafka.priority-range", "0..5");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(Broker.class));
    }

    /** Points the service at the broker. */
    public static class Broker implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            try {
                return Map.of("kafka.bootstrap.servers", KafkaTestBroker.bootstrap());
            } catch (Exception e) {
                throw new IllegalStateException("no Kafka broker for the tests", e);
            }
        }

        @Override
        public void stop() {
            // the broker lives as long as the JVM (KafkaTestBroker)
        }
    }
}
