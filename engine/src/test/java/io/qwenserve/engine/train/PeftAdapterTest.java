package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestLogits;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.reference.ReferenceQwen;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Adapters written here in PEFT's layout (the JSON PEFT writes, the safetensors key names, A [r, in], B [out, r]), not
 * by the trainer: the trainable model with the adapter must give the logits of the independent float64 reference run on
 * weights merged here by hand ({@code W + alpha/r * B A} in plain loops), and adapters that do not fit the base are
 * refused with the tensor named.
 */
class PeftAdapterTest {
    static final int R = 4;
    static final double ALPHA = 8;

    @TempDir
    Path tmp;

    static String peftConfig(int r, List<String> targets, String peftType) {
        return """
                {
                  "alpha_pattern": {},
                  "auto_mapping": null,
                  "base_model_name_or_path": "Qwen/Qwen-7B",
                  "bias": "none",
                  "fan_in_fan_out": false,
                  "inference_mode": true,
                  "init_lora_weights": true,
                  "layers_pattern": null,
                  "layers_to_transform": null,
                  "lora_alpha": %s,
                  "lora_dropout": 0.05,
                  "modules_to_save": null,
                  "peft_type": "%s",
                  "r": %d,
                  "rank_pattern": {},
                  "revision": null,
                  "target_modules": [%s],
                  "task_type": "CAUSAL_LM"
                }
                """.formatted((int) ALPHA, peftType, r,
                String.join(", ", targets.stream().map(t -> "\"" + t + "\"").toList()));
    }

    static float[] random(SplittableRandom rnd, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void aPeftAdapterChangesTheLogitsAsItsMergedWeightsDo(Architecture arch) throws IOException {
        Path base = TestModels.tiny(arch);
        ModelConfig cfg = ModelConfig.load(base);
        List<String> targets = arch == Architecture.QWEN ? List.of("c_attn", "w2") : List.of("q_proj", "v_proj", "down_proj");
        Path adapter = tmp.resolve("adapter");
        Files.createDirectories(adapter);
        Files.writeString(adapter.resolve("adapter_config.json"), peftConfig(R, targets, "LORA"));
        Map<String, float[][]> ab = new HashMap<>(); // module -> {A, B}
        SafetensorsWriter w = new SafetensorsWriter();
        SplittableRandom rnd = new SplittableRandom(99);
        for (LoraModules.Module m : LoraModules.all(cfg).values()) {
            if (targets.stream().noneMatch(t -> m.name().endsWith("." + t))) {
                continue;
            }
            float[] a = random(rnd, R * (int) m.in(), 0.2);
            float[] b = random(rnd, (int) m.out() * R, 0.2);
            ab.put(m.name(), new float[][] {a, b});
            w.addFloats("base_model.model." + m.name() + ".lora_A.weight", DType.F32, a, R, m.in());
            w.addFloats("base_model.model." + m.name() + ".lora_B.weight", DType.BF16, b, m.out(), R); // PEFT may store bf16
        }
        w.write(adapter.resolve("adapter_model.safetensors"));
        assertEquals(arch == Architecture.QWEN ? 2 * 2 : 3 * 2, ab.size());

        Path merged = handMerged(base, ab, tmp.resolve("merged"));
        int[] prompt = LoraMergeEquivalenceTest.ids(arch.ordinal() + 41, 20);
        double[][] expected = ReferenceQwen.load(merged).logits(prompt);
        double[][] baseRef = ReferenceQwen.load(base).logits(prompt);

        float[][] got;
        try (TrainModel m = TrainModelLoader.load(base, ScalarType.Float, new Device(torch.DeviceType.CPU), false);
             PeftAdapter peft = PeftAdapter.read(adapter, cfg)) {
            assertEquals(ALPHA / R, peft.config().scale());
            for (TrainLinear lin : m.linears()) {
                LoraPair p = peft.pairs().get(lin.name());
                if (p != null) {
                    lin.attach(new LoraPair(p.a().clone(), p.b().clone(), p.scale(), p.dropout()));
                }
            }
            got = TrainEval.logits(m, prompt);
        }
        double diff = TestLogits.maxAbsDiff(got, expected);
        double moved = 0;
        for (int t = 0; t < prompt.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                moved = Math.max(moved, Math.abs(expected[t][v] - baseRef[t][v]));
            }
        }
        System.out.printf("%s: PEFT adapter vs hand-merged reference %.2e (the adapter moves logits by %.3f)%n", arch, diff, moved);
        assertTrue(diff <= 1e-4, arch + ": " + diff);
        assertTrue(moved > 0.1, arch + ": the adapter should move the logits, moved " + moved);
    }

    /** The base checkpoint with W + (alpha/r) B A for every adapted module, in double, written as F32. */
    static Path handMerged(Path base, Map<String, float[][]> ab, Path out) throws IOException {
        Files.createDirectories(out);
        Files.copy(base.resolve("config.json"), out.resolve("config.json"));
        Files.copy(base.resolve(QwenTokenizer.VOCAB_FILE), out.resolve(QwenTokenizer.VOCAB_FILE));
        SafetensorsWriter w = new SafetensorsWriter();
        try (Checkpoint ckpt = Checkpoint.open(base)) {
            for (TensorInfo t : ckpt.tensors().values()) {
                float[] v = Checkpoint.readFloats(t);
                String module = t.name().endsWith(".weight") ? t.name().substring(0, t.name().length() - 7) : null;
                float[][] pair = module == null ? null : ab.get(module);
                if (pair != null) {
                    int outF = (int) t.shape()[0];
                    int in = (int) t.shape()[1];
                    float[] b = bf16(pair[1]);
                    for (int o = 0; o < outF; o++) {
                        for (int i = 0; i < in; i++) {
                            double s = 0;
                            for (int k = 0; k < R; k++) {
                                s += (double) b[o * R + k] * pair[0][k * in + i];
                            }
                            v[o * in + i] = (float) (v[o * in + i] + ALPHA / R * s);
                        }
                    }
                }
                w.addFloats(t.name(), DType.F32, v, t.shape());
            }
        }
        w.write(out.resolve("model.safetensors"));
        return out;
    }

    static float[] bf16(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = DType.bf16ToFloat(DType.floatToBf16(v[i]));
        }
        return r;
    }

    // ---- adapters that do not fit ---------------------------------------------------------------------------------

    private Path adapter(String name, String config, SafetensorsWriter w) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), config);
        w.write(dir.resolve("adapter_model.safetensors"));
        return dir;
    }

    private IllegalArgumentException refused(Path dir) {
        ModelConfig cfg = ModelConfig.load(TestModels.tiny(Architecture.QWEN2));
        return assertThrows(IllegalArgumentException.class, () -> PeftAdapter.read(dir, cfg).close());
    }

    @Test
    void adaptersThatDoNotFitTheBaseAreRefusedWithTheTensorNamed() throws IOException {
        String cfg = peftConfig(R, List.of("q_proj"), "LORA");
        String a0 = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
        String b0 = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";

        var wrongIn = new SafetensorsWriter().addFloats(a0, DType.F32, new float[R * 65], R, 65)
                .addFloats(b0, DType.F32, new float[64 * R], 64, R);
        String m = refused(adapter("shape", cfg, wrongIn)).getMessage();
        assertTrue(m.contains("'" + a0 + "'") && m.contains("does not fit"), m);

        var wrongRank = new SafetensorsWriter().addFloats(a0, DType.F32, new float[8 * 64], 8, 64)
                .addFloats(b0, DType.F32, new float[64 * 8], 64, 8);
        m = refused(adapter("rank", cfg, wrongRank)).getMessage();
        assertTrue(m.contains("'" + a0 + "'") && m.contains("r 4"), m);

        String a9 = "base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight";
        var noLayer = new SafetensorsWriter().addFloats(a9, DType.F32, new float[R * 64], R, 64);
        m = refused(adapter("layer", cfg, noLayer)).getMessage();
        assertTrue(m.contains("'" + a9 + "'") && m.contains("has no linear"), m);

        var onlyA = new SafetensorsWriter().addFloats(a0, DType.F32, new float[R * 64], R, 64);
        m = refused(adapter("onlyA", cfg, onlyA)).getMessage();
        assertTrue(m.contains("'" + b0 + "'") && m.contains("missing"), m);

        var ints = new SafetensorsWriter().addInts(a0, new int[R * 64], R, 64).addFloats(b0, DType.F32, new float[64 * R], 64, R);
        m = refused(adapter("dtype", cfg, ints)).getMessage();
        assertTrue(m.contains("'" + a0 + "'") && m.contains("I32"), m);

        var fine = new SafetensorsWriter().addFloats(a0, DType.F32, new float[R * 64], R, 64)
                .addFloats(b0, DType.F32, new float[64 * R], 64, R);
        m = refused(adapter("type", peftConfig(R, List.of("q_proj"), "PREFIX_TUNING"), fine)).getMessage();
        assertTrue(m.contains("peft_type"), m);
        m = refused(adapter("dora", cfg.replace("\"bias\": \"none\"", "\"use_dora\": true, \"bias\": \"none\""), fine)).getMessage();
        assertTrue(m.contains("use_dora"), m);
    }
}
