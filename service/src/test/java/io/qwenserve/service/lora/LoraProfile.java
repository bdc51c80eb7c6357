package io.qwenserve.service.lora;

import io.qwenserve.service.kafka.KafkaProfile;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The trained demo model with its 'pirate' adapter, Kafka on. The demo is reused from the engine module's test build
 * (engine/target/test-models/demo-trained, same recipe) when it is there; otherwise this JVM trains it first.
 */
public class LoraProfile implements QuarkusTestProfile {
    static final Path DEMO = Path.of("..", "engine", "target", "test-models", "demo-trained").toAbsolutePath().normalize();

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("qwen.model.demo.trained", "true", "qwen.model.demo.dir", DEMO.toString(), "qwen.kafka.enabled", "true",
                "qwen.kafka.request-partitions", "2", "qwen.kafka.reply-partitions", "2");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(KafkaProfile.Broker.class));
    }
}
