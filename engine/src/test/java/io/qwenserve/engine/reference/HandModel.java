package io.qwenserve.engine.reference;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A hand-built checkpoint for sanity tests: every tensor of the architecture's layout starts as zeros (norm weights as
 * ones) and individual tensors are then set by name. Written as one F32 {@code model.safetensors} plus config.json.
 */
final class HandModel {
    private final ModelConfig config;
    private final Map<String, float[]> values = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    HandModel(ModelConfig config) {
        this.config = config;
        Architecture a = config.architecture();
        int d = config.hiddenSize();
        int f = config.intermediateSize();
        int hd = config.headDim();
        add(a.embedding(), config.vocabSize(), d);
        for (int i = 0; i < config.numLayers(); i++) {
            ones(a.inputNorm(i), d);
            if (a == Architecture.QWEN) {
                add(a.fusedQkv(i) + ".weight", 3L * config.qSize(), d);
                add(a.fusedQkv(i) + ".bias", 3L * config.qSize());
            } else {
                add(a.qProj(i) + ".weight", config.qSize(), d);
                add(a.kProj(i) + ".weight", config.kvSize(), d);
                add(a.vProj(i) + ".weight", config.kvSize(), d);
                if (config.qkvBias()) {
                    add(a.qProj(i) + ".bias", config.qSize());
                    add(a.kProj(i) + ".bias", config.kvSize());
                    add(a.vProj(i) + ".bias", config.kvSize());
                }
                if (config.qkNorm()) {
                    ones(a.qNorm(i), hd);
                    ones(a.kNorm(i), hd);
                }
            }
            add(a.attnOut(i) + ".weight", d, config.qSize());
            ones(a.postAttentionNorm(i), d);
            add(a.mlpGate(i) + ".weight", f, d);
            add(a.mlpUp(i) + ".weight", f, d);
            add(a.mlpDown(i) + ".weight", d, f);
        }
        ones(a.finalNorm(), d);
        if (!config.tieWordEmbeddings()) {
            add(a.lmHead(), config.vocabSize(), d);
        }
    }

    // ---- configs ------------------------------------------------------------------------------------------------

    static ModelConfig qwen1(int hidden, int heads, int mlp, int vocab, int seqLength, int rotaryDim,
                             boolean dynamicNtk, boolean logn) {
        int hd = hidden / heads;
        return new ModelConfig(Architecture.QWEN, hidden, 1, heads, heads, hd, mlp, vocab, 1e-6, 10000.0, rotaryDim,
                seqLength, 8192, dynamicNtk, logn, false, true, false, List.of(151643), "float32");
    }

    static ModelConfig qwen2(int hidden, int heads, int kvHeads, int mlp, int vocab, boolean tie) {
        int hd = hidden / heads;
        return new ModelConfig(Architecture.QWEN2, hidden, 1, heads, kvHeads, hd, mlp, vocab, 1e-6, 1_000_000.0, hd,
                32768, 32768, false, false, tie, true, false, List.of(151645), "float32");
    }

    static ModelConfig qwen3(int hidden, int heads, int kvHeads, int headDim, int mlp, int vocab, boolean tie) {
        return new ModelConfig(Architecture.QWEN3, hidden, 1, heads, kvHeads, headDim, mlp, vocab, 1e-6, 1_000_000.0,
                headDim, 40960, 40960, false, false, tie, false, true, List.of(151645), "float32");
    }

    // ---- tensors ------------------------------------------------------------------------------------------------

    private void add(String name, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        values.put(name, new float[Math.toIntExact(n)]);
        shapes.put(name, shape);
    }

    private void ones(String name, long n) {
        add(name, n);
        java.util.Arrays.fill(values.get(name), 1f);
    }

    ModelConfig config() {
        return config;
    }

    /** The current values of a tensor (row-major), to modify in place. */
    float[] get(String name) {
        float[] v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return v;
    }

    HandModel set(String name, float... v) {
        float[] dst = get(name);
        if (dst.length != v.length) {
            throw new IllegalArgumentException(name + ": " + v.length + " values, expected " + dst.length);
        }
        System.arraycopy(v, 0, dst, 0, v.length);
        return this;
    }

    /** Fills a tensor with uniform random values in [center − spread, center + spread]. */
    HandModel random(String name, Random rnd, double center, double spread) {
        float[] v = get(name);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (center + (rnd.nextDouble() * 2 - 1) * spread);
        }
        return this;
    }

    /** Every tensor random (norm weights around 1). */
    HandModel randomAll(Random rnd) {
        for (String name : values.keySet()) {
            boolean norm = shapes.get(name).length == 1 && !name.endsWith(".bias");
            random(name, rnd, norm ? 1.0 : 0.0, norm ? 0.2 : 0.5);
        }
        return this;
    }

    /** Writes {@code config.json} and {@code model.safetensors} into {@code dir}; returns {@code dir}. */
    Path write(Path dir) {
        try {
            Files.createDirectories(dir);
            new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), config.toHfJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SafetensorsWriter w = new SafetensorsWriter();
        values.forEach((name, v) -> w.addFloats(name, DType.F32, v, shapes.get(name)));
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }
}
