package io.qwenserve.service;

import io.qwenserve.kafka.LocalKafka;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The Kafka broker of a test JVM: the one {@code KAFKA_BOOTSTRAP_SERVERS} names, or else a local broker
 * ({@link LocalKafka}, from {@code deploy/kafka-broker/target}) started once per JVM, stopped by its PID when the JVM
 * exits, and exiting by itself should the JVM be killed.
 */
public final class KafkaTestBroker {
    private static String bootstrap;

    private KafkaTestBroker() {}

    public static synchronized String bootstrap() throws Exception {
        if (bootstrap == null) {
            String external = System.getenv("KAFKA_BOOTSTRAP_SERVERS");
            if (external != null && !external.isBlank()) {
                bootstrap = external;
            } else {
                Path home = Path.of(System.getProperty("qwen.kafka.broker.home", "../deploy/kafka-broker/target"));
                long pid = ProcessHandle.current().pid();
                LocalKafka broker = LocalKafka.start(home, Path.of("target", "kafka-test-" + pid), 0, OptionalLong.of(pid));
                Runtime.getRuntime().addShutdownHook(new Thread(broker::stop));
                bootstrap = broker.bootstrap();
            }
        }
        return bootstrap;
    }
}
