package io.qwenserve.service.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.service.config.QwenConfig;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code qwen.engine.*} keys as the service maps them onto the engine's configuration (no Quarkus start needed). */
class EngineConfigMappingTest {

    static EngineConfig map(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(QwenConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter()) // "30s", as Quarkus reads it
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
        return EngineHolder.engineConfig(config.getConfigMapping(QwenConfig.class));
    }

    @Test
    void gpuMemoryUtilizationDefaultsToNinetyPercent() {
        assertEquals(0.90, map(Map.of()).gpuMemoryUtilization());
        assertEquals(0.75, map(Map.of("qwen.engine.gpu-memory-utilization", "0.75")).gpuMemoryUtilization());
    }

    @Test
    void aFractionOutsideZeroToOneIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> map(Map.of("qwen.engine.gpu-memory-utilization", "1.5")));
        assertTrue(e.getMessage().contains("gpu memory utilization must be in (0, 1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> map(Map.of("qwen.engine.gpu-memory-utilization", "0")));
    }
}
