package io.qwenserve.engine;

import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Generated test checkpoints, written once per build under {@code target/test-models} and shared by test classes.
 */
public final class TestModels {
    private static final Path ROOT = Path.of("target", "test-models");

    private TestModels() {}

    /** The tiny fp32 model of an architecture (2 layers, hidden 64, real vocabulary). */
    public static Path tiny(Architecture arch) {
        return get("tiny-" + arch.modelType(), RandomCheckpoint.Spec.tiny(arch));
    }

    /** A checkpoint for {@code spec}, written on first use. {@code name} must identify the spec. */
    public static synchronized Path get(String name, RandomCheckpoint.Spec spec) {
        return get(name, spec, null);
    }

    /** A GPTQ Int4 checkpoint for {@code spec} (plain when {@code gptq} is null), written on first use. */
    public static synchronized Path get(String name, RandomCheckpoint.Spec spec, RandomCheckpoint.Gptq gptq) {
        Path dir = ROOT.resolve(name).toAbsolutePath();
        Path done = dir.resolve(".complete");
        if (!Files.exists(done)) {
            if (gptq != null) {
                RandomCheckpoint.writeGptq(dir, spec, gptq);
            } else {
                RandomCheckpoint.write(dir, spec);
            }
            try {
                Files.writeString(done, spec.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }
}
