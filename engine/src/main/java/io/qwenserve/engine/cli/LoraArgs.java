package io.qwenserve.engine.cli;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.lora.LoraAdapters;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --lora DIR}: the engine commands run the model with a PEFT LoRA adapter (applied per row, never merged). */
final class LoraArgs {
    /** The name the adapter is served under inside the command. */
    static final String NAME = "lora";

    @Option(names = "--lora", description = "A PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors) "
            + "to run the model with.")
    Path dir;

    /** The adapters for the command's engine: the one given, or none. */
    LoraAdapters adapters(LoadedModel m) {
        return dir == null ? LoraAdapters.none() : LoraAdapters.load(m.model(), m.info(0).name(), Map.of(NAME, dir), 1);
    }

    /** The adapter name requests carry, or null for the base model. */
    String name() {
        return dir == null ? null : NAME;
    }
}
