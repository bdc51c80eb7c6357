package io.qwenserve.engine.api;

import java.nio.file.Path;
import java.util.List;

/**
 * A LoRA adapter an engine serves, as transports list it: requests pick it by {@code name}.
 *
 * @param name          the name requests use (an OpenAI {@code model}, the gRPC and Kafka {@code adapter} field)
 * @param dir           the adapter folder
 * @param base          the name of the model it applies to (the engine's model)
 * @param rank          LoRA rank r
 * @param alpha         lora_alpha (the update is scaled by alpha / r)
 * @param targetModules the adapter's target_modules
 */
public record AdapterInfo(String name, Path dir, String base, int rank, double alpha, List<String> targetModules) {
    public AdapterInfo {
        targetModules = List.copyOf(targetModules);
    }
}
