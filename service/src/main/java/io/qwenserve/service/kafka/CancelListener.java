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
 * failover still ends CANCELLED on the replica that redoes it. An iteration that throws anything is logged and the
 * loop goes on after a pause.
 */
final class CancelListener implements Runnable {
    private static final Logger LOG = Logger.getLogger(CancelListener.class);

    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private final CancelRegistry cancels;
    private volatile boolean closing;
    private volatile long heartbeatNanos = System.nanoTime();

    CancelListener(Consumer<String, byte[]> consumer, String topic, CancelRegistry cancels) {
        this.consumer = consumer;
        this.topic = topic;
        this.cancels = cancels;
    }

    void close() {
        closing = true;
    }

    /** When (nanoTime) the loop last completed an iteration. */
    long heartbeatNanos() {
        return heartbeatNanos;
    }

    @Override
    public void run() {
        try {
            while (!closing && !assign()) {
                sleep(1000);
            }
            int failures = 0;
            while (!closing) {
                try {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        if (r.value() != null && r.value().length > 0) {
                            cancels.cancel(new String(r.value(), StandardCharsets.UTF_8).trim());
                        }
                    }
                    heartbeatNanos = System.nanoTime();
                    failures = 0;
                } catch (Throwable t) {
                    LOG.errorf(t, "the Kafka cancel loop failed (%d in a row); going on", ++failures);
                    sleep(Math.min(5000, 100L << Math.min(6, failures)));
                }
            }
        } finally {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (Throwable t) {
                LOG.warnf("closing the cancel consumer: %s", t.toString());
            }
        }
    }

    /** Reads every partition from {@link CancelRegistry#MEMORY_MS} back; false when the broker did not answer yet. */
    private boolean assign() {
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
            heartbeatNanos = System.nanoTime();
            return true;
        } catch (Throwable t) {
            LOG.warnf("the Kafka cancel loop cannot read %s yet: %s", topic, t.toString());
            heartbeatNanos = System.nanoTime();
            return false;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
