package io.qwenserve.service.kafka;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.qwenserve.service.kafka.Done.Outcome;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.TopicPartition;

/**
 * The Kafka bridge's metrics, for autoscaling and operations: {@code qwen_kafka_consumer_lag{topic,partition}} (records
 * of an assigned request partition not yet answered: end offset minus this replica's committed offset, in flight
 * included), {@code qwen_kafka_requests_in_flight} (generations running on this replica) and
 * {@code qwen_kafka_requests_total{outcome}} (answered, dead_lettered, reply_failed, handed_back).
 */
final class KafkaMetrics {
    private final MeterRegistry registry;
    private final Map<TopicPartition, Long> lag = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Meter> lagGauges = new ConcurrentHashMap<>();
    private final Map<Outcome, Counter> outcomes = new EnumMap<>(Outcome.class);
    private final Meter inFlight;

    KafkaMetrics(MeterRegistry registry, AtomicInteger inFlight) {
        this.registry = registry;
        this.inFlight = Gauge.builder("qwen.kafka.requests_in_flight", inFlight, AtomicInteger::get).strongReference(true)
                .description("Kafka requests generating on this replica").register(registry);
        for (Outcome o : Outcome.values()) {
            outcomes.put(o, Counter.builder("qwen.kafka.requests").tag("outcome", o.name().toLowerCase())
                    .description("Kafka request records by how they ended").register(registry));
        }
    }

    void lag(TopicPartition tp, long value) {
        lag.put(tp, value);
        lagGauges.computeIfAbsent(tp, k -> Gauge.builder("qwen.kafka.consumer_lag", lag, m -> m.getOrDefault(k, 0L))
                .tag("topic", k.topic()).tag("partition", Integer.toString(k.partition())).strongReference(true)
                .description("Records of an assigned request partition not yet answered (end offset - committed offset)")
                .register(registry));
    }

    void unassigned(TopicPartition tp) {
        lag.remove(tp);
        Meter m = lagGauges.remove(tp);
        if (m != null) {
            registry.remove(m);
        }
    }

    void ended(Outcome outcome) {
        outcomes.get(outcome).increment();
    }

    /** Removes every meter (the service stops, or a test restarts it). */
    void close() {
        lagGauges.keySet().forEach(this::unassigned);
        outcomes.values().forEach(registry::remove);
        registry.remove(inFlight);
    }
}
