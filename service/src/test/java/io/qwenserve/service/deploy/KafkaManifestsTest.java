package io.qwenserve.service.deploy;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.qwenserve.service.config.QwenConfig;
import io.smallrye.config.WithDefault;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kafka side of {@code deploy/k8s} agrees with the service's {@code qwen.kafka.*} defaults: the Strimzi topics
 * are the ones the service uses, with the configured partition counts, and KEDA scales the service's consumer group on
 * its request topic with no more replicas than request partitions; the README documents every key.
 */
class KafkaManifestsTest {
    private static final List<JsonNode> DOCS = new ArrayList<>();

    @BeforeAll
    static void parse() throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        try (Stream<Path> files = Files.list(Path.of("..", "deploy", "k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (YAMLParser parser = new YAMLFactory().createParser(f.toFile())) {
                    yaml.readValues(parser, JsonNode.class).forEachRemaining(d -> {
                        if (d != null && !d.isEmpty()) {
                            DOCS.add(d);
                        }
                    });
                }
            }
        }
    }

    /** A {@code qwen.kafka.*} default, read from the configuration interface itself. */
    private static String kafkaDefault(String method) throws NoSuchMethodException {
        return QwenConfig.Kafka.class.getMethod(method).getAnnotation(WithDefault.class).value();
    }

    private static Map<String, JsonNode> topics() {
        return DOCS.stream().filter(d -> d.path("kind").asText().equals("KafkaTopic"))
                .collect(Collectors.toMap(d -> d.path("metadata").path("name").asText(), d -> d));
    }

    @Test
    void topicsAreTheServicesWithItsPartitionCounts() throws Exception {
        Map<String, JsonNode> topics = topics();
        assertEquals(Integer.parseInt(kafkaDefault("requestPartitions")),
                topics.get(kafkaDefault("requestTopic")).path("spec").path("partitions").asInt(), "request topic partitions");
        assertEquals(Integer.parseInt(kafkaDefault("replyPartitions")),
                topics.get(kafkaDefault("replyTopic")).path("spec").path("partitions").asInt(), "reply topic partitions");
        assertTrue(topics.containsKey(kafkaDefault("cancelTopic")), "cancel topic");
        assertTrue(topics.containsKey(kafkaDefault("deadLetterTopic")), "dead-letter topic");
    }

    @Test
    void kedaScalesTheConsumerGroupWithinThePartitionCount() throws Exception {
        JsonNode so = DOCS.stream().filter(d -> d.path("kind").asText().equals("ScaledObject")).findFirst().orElseThrow();
        JsonNode kafka = null;
        for (JsonNode t : so.path("spec").path("triggers")) {
            if (t.path("type").asText().equals("kafka")) {
                kafka = t.path("metadata");
            }
        }
        assertNotNull(kafka, "a kafka trigger");
        assertEquals(kafkaDefault("groupId"), kafka.path("consumerGroup").asText());
        String requestTopic = kafka.path("topic").asText();
        assertEquals(kafkaDefault("requestTopic"), requestTopic);
        int partitions = topics().get(requestTopic).path("spec").path("partitions").asInt();
        int max = so.path("spec").path("maxReplicaCount").asInt();
        assertTrue(max >= 1 && max <= partitions, "maxReplicaCount " + max + " must not exceed the " + partitions + " request partitions");
    }

    @Test
    void readmeDocumentsEveryKafkaKey() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (var m : QwenConfig.Kafka.class.getDeclaredMethods()) {
            String key = "qwen.kafka." + m.getName().replaceAll("([A-Z])", "-$1").toLowerCase(java.util.Locale.ROOT);
            assertTrue(readme.contains("| `" + key + "` |"), key + " is missing from the README's configuration table");
        }
    }

    @Test
    void deploymentTurnsKafkaOnWithTheBrokerOfTheScaler() {
        JsonNode container = DOCS.stream().filter(d -> d.path("kind").asText().equals("Deployment")).findFirst().orElseThrow()
                .path("spec").path("template").path("spec").path("containers").get(0);
        Map<String, String> env = new java.util.HashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
        assertEquals("true", env.get("QWEN_KAFKA_ENABLED"));
        JsonNode so = DOCS.stream().filter(d -> d.path("kind").asText().equals("ScaledObject")).findFirst().orElseThrow();
        for (JsonNode t : so.path("spec").path("triggers")) {
            if (t.path("type").asText().equals("kafka")) {
                assertEquals(env.get("KAFKA_BOOTSTRAP_SERVERS"), t.path("metadata").path("bootstrapServers").asText());
            }
        }
    }
}
