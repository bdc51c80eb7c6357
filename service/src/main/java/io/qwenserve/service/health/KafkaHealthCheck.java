package io.qwenserve.service.health;

import io.qwenserve.service.kafka.KafkaBridge;
import io.smallrye.health.api.HealthGroup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;

/**
 * Kafka's own health, apart from readiness: a broker outage must not take HTTP and gRPC out of service.
 * {@code /q/health/group/kafka} says whether the broker answers (from the bridge's cached state, so it answers at once),
 * with the assigned partitions, requests in flight and whether intake is paused; liveness fails only when the bridge is
 * wedged (a loop died, or a partition cannot move while the broker answers).
 */
@ApplicationScoped
public class KafkaHealthCheck {
    @Inject
    KafkaBridge bridge;

    @HealthGroup("kafka")
    HealthCheck kafka() {
        return () -> {
            KafkaBridge.Health h = bridge.health();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("kafka").status(h.up()).withData("state", h.state().name());
            if (h.state() == KafkaBridge.State.RUNNING) {
                b.withData("assigned_partitions", h.assignedPartitions()).withData("in_flight", h.inFlight())
                        .withData("paused", h.paused()).withData("checked_ms_ago", h.checkedAgoMs());
            }
            if (h.detail() != null) {
                b.withData("error", h.detail());
            }
            return b.build();
        };
    }

    @Liveness
    HealthCheck kafkaLoops() {
        return () -> {
            KafkaBridge.Liveness l = bridge.liveness();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("kafka-loops").status(l.up());
            if (l.detail() != null) {
                b.withData("error", l.detail());
            }
            return b.build();
        };
    }
}
