package io.qwenserve.service.health;

import io.qwenserve.service.kafka.KafkaBridge;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/** Readiness includes Kafka when {@code qwen.kafka.enabled}: the bridge's loops run and the broker answers. */
@ApplicationScoped
public class KafkaHealthCheck {
    @Inject
    KafkaBridge bridge;

    @Readiness
    HealthCheck kafka() {
        return () -> {
            KafkaBridge.Health h = bridge.health();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("kafka").status(h.up()).withData("state", h.state().name());
            if (h.state() == KafkaBridge.State.RUNNING) {
                b.withData("assigned_partitions", h.assignedPartitions()).withData("in_flight", h.inFlight());
            }
            if (h.detail() != null) {
                b.withData("error", h.detail());
            }
            return b.build();
        };
    }
}
