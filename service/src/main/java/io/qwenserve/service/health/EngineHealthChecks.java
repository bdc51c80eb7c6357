package io.qwenserve.service.health;

import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineStats;
import io.qwenserve.service.engine.EngineHolder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * Kubernetes probes: started = the model finished loading; ready = this replica serves (loaded, engine loop alive and
 * accepting: not draining, not failed); live = the process is not wedged (a failed load, a dead engine loop, or an engine
 * that failing steps marked failed is not live). Kafka's own checks are in {@link KafkaHealthCheck}.
 */
@ApplicationScoped
public class EngineHealthChecks {
    @Inject
    EngineHolder holder;

    @Startup
    HealthCheck started() {
        return () -> base("model-loaded").status(holder.state() != EngineHolder.State.LOADING).build();
    }

    @Readiness
    HealthCheck ready() {
        return () -> {
            EngineHolder.State s = holder.state();
            boolean up = false;
            HealthCheckResponseBuilder b = base("engine");
            if (s == EngineHolder.State.READY) {
                Engine e = holder.engine();
                EngineStats st = e.stats();
                up = st.loopAlive() && e.accepting();
                b.withData("running", st.running()).withData("waiting", st.waiting())
                        .withData("kv_cache_usage", String.format("%.3f", st.kvUsage()));
                if (e.failed()) {
                    b.withData("error", "engine failed: " + e.failure());
                }
            }
            return b.status(up).build();
        };
    }

    /** Not live: the load failed, the engine loop died, or failing steps marked the engine failed (a restart is the cure). */
    @Liveness
    HealthCheck live() {
        return () -> {
            EngineHolder.State s = holder.state();
            HealthCheckResponseBuilder b = base("engine-loop");
            boolean dead = s == EngineHolder.State.FAILED;
            if (s == EngineHolder.State.READY) {
                Engine e = holder.engine();
                dead = !e.stats().loopAlive() || e.failed();
                if (e.failed()) {
                    b.withData("error", "engine failed: " + e.failure());
                }
            }
            return b.status(!dead).build();
        };
    }

    private HealthCheckResponseBuilder base(String name) {
        HealthCheckResponseBuilder b = HealthCheckResponse.named(name).withData("state", holder.state().name());
        if (holder.failure() != null) {
            b.withData("error", holder.failure());
        }
        return b;
    }
}
