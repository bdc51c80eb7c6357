package io.qwenserve.service.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** API keys on (only the first may choose a priority, in -5..5), one sequence per step and a one-request queue. */
public class RestrictedProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("qwen.api-keys", "secret-key,second-key", "qwen.api-key-priorities", "secret-key=-5..5",
                "qwen.engine.max-batch", "1", "qwen.engine.queue-size", "1");
    }
}
