package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsFile;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A LoRA adapter folder in PEFT's layout: {@link AdapterConfig} plus {@code adapter_model.safetensors} holding, per
 * adapted module {@code M} (named as in the base checkpoint), {@code base_model.model.M.lora_A.weight} [r, in] and
 * {@code base_model.model.M.lora_B.weight} [out, r]. {@link #read} checks that the adapter fits a base model and names
 * the tensor that does not.
 *
 * @param pairs the adapter per module name, in model order; float32 tensors
 */
public record PeftAdapter(AdapterConfig config, Map<String, LoraPair> pairs) implements AutoCloseable {
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";
    private static final String A = ".lora_A.weight";
    private static final String B = ".lora_B.weight";

    public static String keyA(String module) {
        return PREFIX + module + A;
    }

    public static String keyB(String module) {
        return PREFIX + module + B;
    }

    /** Writes the folder (created if needed); tensors are stored as float32. */
    public void write(Path dir) {
        config.write(dir);
        SafetensorsWriter w = new SafetensorsWriter();
        for (Map.Entry<String, LoraPair> e : pairs.entrySet()) {
            LoraPair p = e.getValue();
            w.addRaw(keyA(e.getKey()), DType.F32, () -> TensorIO.bytes(p.a(), DType.F32), p.rank(), p.in());
            w.addRaw(keyB(e.getKey()), DType.F32, () -> TensorIO.bytes(p.b(), DType.F32), p.out(), p.rank());
        }
        w.write(dir.resolve(WEIGHTS));
    }

    /**
     * Reads an adapter folder for a base model of {@code base}: every tensor must be an A or B of a linear the base has,
     * with the config's rank and the linear's shape, in F32, BF16 or F16; every A needs its B.
     */
    public static PeftAdapter read(Path dir, ModelConfig base) {
        AdapterConfig cfg = AdapterConfig.read(dir);
        Path file = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": missing (" + (Files.isRegularFile(dir.resolve("adapter_model.bin"))
                    ? "adapter_model.bin (pickle) is not read; save with safetensors" : "the adapter's weights") + ")");
        }
        Map<String, LoraModules.Module> modules = LoraModules.all(base);
        Map<String, TensorInfo[]> found = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors().values()) {
                String name = t.name();
                boolean isA = name.endsWith(A);
                if (!name.startsWith(PREFIX) || !(isA || name.endsWith(B))) {
                    throw new IllegalArgumentException(t.where() + ": not a LoRA weight (expected " + PREFIX + "{module}"
                            + A + " or " + B + ")");
                }
                String module = name.substring(PREFIX.length(), name.length() - A.length());
                LoraModules.Module m = modules.get(module);
                if (m == null) {
                    throw new IllegalArgumentException(t.where() + ": the base model (" + base.architecture().hfClass() + ", "
                            + base.numLayers() + " layers) has no linear '" + module + "'");
                }
                if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
                    throw new IllegalArgumentException(t.where() + ": dtype " + t.dtype() + " (expected F32, BF16 or F16)");
                }
                long[] expected = isA ? new long[] {cfg.r(), m.in()} : new long[] {m.out(), cfg.r()};
                if (!Arrays.equals(t.shape(), expected)) {
                    throw new IllegalArgumentException(t.where() + ": shape " + t.shapeString() + " does not fit the base ("
                            + (isA ? "A is [r, in] = " : "B is [out, r] = ") + Arrays.toString(expected) + " for r " + cfg.r()
                            + " and the base's [" + m.out() + ", " + m.in() + "] weight)");
                }
                found.computeIfAbsent(module, k -> new TensorInfo[2])[isA ? 0 : 1] = t;
            }
            Map<String, LoraPair> pairs = new LinkedHashMap<>();
            try {
                for (String module : modules.keySet()) {
                    TensorInfo[] ab = found.get(module);
                    if (ab == null) {
                        continue;
                    }
                    if (ab[0] == null || ab[1] == null) {
                        throw new IllegalArgumentException(file + ": tensor '" + (ab[0] == null ? keyA(module) : keyB(module))
                                + "' is missing (its " + (ab[0] == null ? "B" : "A") + " is there)");
                    }
                    Tensor a = TensorIO.read(ab[0], ScalarType.Float);
                    Tensor b = TensorIO.read(ab[1], ScalarType.Float);
                    pairs.put(module, new LoraPair(a, b, cfg.scale(), cfg.loraDropout()));
                }
            } catch (RuntimeException e) {
                pairs.values().forEach(LoraPair::close);
                throw e;
            }
            if (pairs.isEmpty()) {
                throw new IllegalArgumentException(file + ": no LoRA weights");
            }
            return new PeftAdapter(cfg, pairs);
        }
    }

    @Override
    public void close() {
        pairs.values().forEach(LoraPair::close);
    }
}
