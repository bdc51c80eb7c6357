package io.qwenserve.service.health;

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
 * Kubernetes probes: started = the model finished loading; ready = loaded, engine loop alive, not draining; live =
 * the process is not wedged (a dead engine loop or a failed load is not live).
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
                EngineStats st = holder.engine().stats();
                up = st.loopAlive() && st.accepting();
                b.withData("running", st.running()).withData("waiting", st.waiting())
                        .withData("kv_cache_usage", String.format("%.3f", st.kvUsage()));
            }
            return b.status(up).build();
        };
    }

    @Liveness
    HealthCheck live() {
        return () -> {
            EngineHolder.State s = holder.state();
            boolean dead = s == EngineHolder.State.FAILED
                    || (s == EngineHolder.State.READY && !holder.engine().stats().loopAlive());
            return base("engine-loop").status(!dead).build();
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
