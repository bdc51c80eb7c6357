package io.qwenserve.engine.lora;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.train.AdapterConfig;
import io.qwenserve.engine.train.LoraModules;
import io.qwenserve.engine.train.LoraPair;
import io.qwenserve.engine.train.PeftAdapter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;

/** A PEFT LoRA adapter with random A and B (B not zero, so it changes the output) for a model: benchmarks and tests. */
public final class RandomAdapter {
    private RandomAdapter() {}

    /** Writes an adapter of rank {@code r} on the architecture's default targets of {@code base} into {@code dir}. */
    public static Path write(Path base, Path dir, int r, long seed) {
        ModelConfig cfg = ModelConfig.load(base);
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        torch.manual_seed(seed);
        for (LoraModules.Module m : LoraModules.select(cfg, LoraModules.defaultTargets(cfg.architecture()))) {
            LoraPair p = LoraPair.init(m.in(), m.out(), r, 2.0, 0.05);
            try (NoGradGuard g = new NoGradGuard()) {
                p.b().copy_(torch.randn(m.out(), r).mul(new Scalar(0.02)));
            }
            pairs.put(m.name(), p);
        }
        try (PeftAdapter a = new PeftAdapter(new AdapterConfig(r, 2.0 * r, 0.05, LoraModules.defaultTargets(cfg.architecture()),
                base.toAbsolutePath().toString(), false), pairs)) {
            a.write(dir);
        }
        return dir;
    }
}
