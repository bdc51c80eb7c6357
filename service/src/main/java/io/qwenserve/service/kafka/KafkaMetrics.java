package io.qwenserve.service.kafka;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.qwenserve.service.kafka.Done.Outcome;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.common.TopicPartition;

/**
 * The Kafka bridge's metrics, for autoscaling and operations: {@code qwen_kafka_consumer_lag{topic,partition}} (records
 * of an assigned request partition not yet answered: end offset minus this replica's committed offset, in flight
 * included), {@code qwen_kafka_requests_in_flight} (generations running on this replica),
 * {@code qwen_kafka_requests_total{outcome}} (answered, dead_lettered, reply_failed, handed_back),
 * {@code qwen_kafka_deferred_total{reason}} (records left in their topic for later: queue_full, unavailable,
 * reply_topic_unknown), {@code qwen_kafka_retries_total{kind}} (failed sends tried again: reply, dead_letter) and
 * {@code qwen_kafka_broker_up} (1 when the broker answered the last check).
 */
final class KafkaMetrics {
    private final MeterRegistry registry;
    private final Map<TopicPartition, Long> lag = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Meter> lagGauges = new ConcurrentHashMap<>();
    private final Map<Outcome, Counter> outcomes = new EnumMap<>(Outcome.class);
    private final Map<String, Counter> deferred = new ConcurrentHashMap<>();
    private final Map<String, Counter> retries = new ConcurrentHashMap<>();
    private final List<Meter> fixed = new ArrayList<>();

    KafkaMetrics(MeterRegistry registry, AtomicInteger inFlight, BooleanSupplier brokerUp) {
        this.registry = registry;
        fixed.add(Gauge.builder("qwen.kafka.requests_in_flight", inFlight, AtomicInteger::get).strongReference(true)
                .description("Kafka requests generating on this replica").register(registry));
        fixed.add(Gauge.builder("qwen.kafka.broker_up", brokerUp, b -> b.getAsBoolean() ? 1 : 0).strongReference(true)
                .description("1 when the Kafka broker answered the last check (every 2 s), else 0").register(registry));
        for (Outcome o : Outcome.values()) {
            if (o.finished || o == Outcome.REPLY_FAILED || o == Outcome.HANDED_BACK) {
                outcomes.put(o, Counter.builder("qwen.kafka.requests").tag("outcome", o.name().toLowerCase())
                        .description("Kafka request records by how they ended").register(registry));
            }
        }
        for (String reason : List.of("queue_full", "unavailable", "reply_topic_unknown")) {
            deferred(reason, 0);
        }
        for (String kind : List.of("reply", "dead_letter")) {
            retried(kind, 0);
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
        Counter c = outcomes.get(outcome);
        if (c != null) {
            c.increment();
        }
    }

    /** A record left in its topic for later (backpressure). */
    void deferred(String reason) {
        deferred(reason, 1);
    }

    private void deferred(String reason, int n) {
        deferred.computeIfAbsent(reason, r -> Counter.builder("qwen.kafka.deferred").tag("reason", r)
                .description("Request records left in their topic to be read again later (backpressure)").register(registry)).increment(n);
    }

    /** A failed send tried again: a request redone after its replies failed, or a dead letter sent again. */
    void retried(String kind) {
        retried(kind, 1);
    }

    private void retried(String kind, int n) {
        retries.computeIfAbsent(kind, k -> Counter.builder("qwen.kafka.retries").tag("kind", k)
                .description("Failed Kafka sends tried again (reply: the request is redone; dead_letter: sent again)")
                .register(registry)).increment(n);
    }

    /** Removes every meter (the service stops, or a test restarts it). */
    void close() {
        lagGauges.keySet().forEach(this::unassigned);
        outcomes.values().forEach(registry::remove);
        deferred.values().forEach(registry::remove);
        retries.values().forEach(registry::remove);
        fixed.forEach(registry::remove);
    }
}
