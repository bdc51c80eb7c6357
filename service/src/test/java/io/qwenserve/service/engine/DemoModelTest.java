package io.qwenserve.service.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated demo model is reused while its spec holds and remade when the spec changes. */
class DemoModelTest {
    @Test
    void aChangedArchitectureRemakesTheDemoModel(@TempDir Path dir) throws Exception {
        EngineHolder.ensureDemoModel(dir, Architecture.QWEN2);
        assertEquals(Architecture.QWEN2, ModelConfig.load(dir).architecture());
        long written = Files.getLastModifiedTime(dir.resolve("config.json")).toMillis();

        EngineHolder.ensureDemoModel(dir, Architecture.QWEN2);
        assertEquals(written, Files.getLastModifiedTime(dir.resolve("config.json")).toMillis(), "same spec: reused");

        Files.writeString(dir.resolve("stale-shard.safetensors"), "left over");
        EngineHolder.ensureDemoModel(dir, Architecture.QWEN3);
        assertEquals(Architecture.QWEN3, ModelConfig.load(dir).architecture());
        assertFalse(Files.exists(dir.resolve("stale-shard.safetensors")), "files of the old model are removed");
    }

    @Test
    void aFolderWithoutTheSpecMarkerIsRemade(@TempDir Path dir) throws Exception {
        EngineHolder.ensureDemoModel(dir, Architecture.QWEN);
        Files.delete(dir.resolve(EngineHolder.DEMO_SPEC)); // written by an older version
        EngineHolder.ensureDemoModel(dir, Architecture.QWEN);
        assertTrue(Files.exists(dir.resolve(EngineHolder.DEMO_SPEC)));
        assertEquals(Architecture.QWEN, ModelConfig.load(dir).architecture());
    }
}
