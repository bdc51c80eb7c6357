package io.qwenserve.service.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * Reads the control topic on its own thread: a record's value is a request id to cancel. Every replica reads every
 * partition (no consumer group), starting {@link CancelRegistry#MEMORY_MS} back, so that a request cancelled before a
 * failover still ends CANCELLED on the replica that redoes it.
 */
final class CancelListener implements Runnable {
    private static final Logger LOG = Logger.getLogger(CancelListener.class);

    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private final CancelRegistry cancels;
    private volatile boolean closing;

    CancelListener(Consumer<String, byte[]> consumer, String topic, CancelRegistry cancels) {
        this.consumer = consumer;
        this.topic = topic;
        this.cancels = cancels;
    }

    void close() {
        closing = true;
    }

    @Override
    public void run() {
        try {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> since = new HashMap<>();
            partitions.forEach(tp -> since.put(tp, System.currentTimeMillis() - CancelRegistry.MEMORY_MS));
            consumer.offsetsForTimes(since).forEach((tp, at) -> {
                if (at == null) {
                    consumer.seekToEnd(List.of(tp));
                } else {
                    consumer.seek(tp, at.offset());
                }
            });
            while (!closing) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() != null && r.value().length > 0) {
                        cancels.cancel(new String(r.value(), StandardCharsets.UTF_8).trim());
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.error("the Kafka cancel loop failed", e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }
}
