package io.qwenserve.engine.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.GptqPacker;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Writes a random-weight checkpoint in the real Hugging Face layout of each architecture (same tensor names, shapes,
 * {@code config.json} fields, sharding and index), plus the real {@code qwen.tiktoken}. Used by tests and by the
 * service's demo model. The weights are deterministic in {@code seed}.
 *
 * <p>Scales are chosen so that activations stay O(1) and logits have a spread of a few units, which keeps greedy
 * decoding away from near-ties.
 */
public final class RandomCheckpoint {
    /**
     * Scale of the attention and MLP output projections: large enough that each layer moves the residual stream as
     * much as the embedding does, so a tied-embedding model does not just repeat its input token.
     */
    private static final double OUT_SCALE = 4.0;

    /** What to generate. {@code intermediateSize} is the real MLP width (Qwen v1's config stores twice this). */
    public record Spec(Architecture arch, int layers, int hidden, int heads, int kvHeads, int headDim,
                       int intermediateSize, int vocab, int seqLength, DType dtype, int shards, long seed,
                       boolean tieEmbeddings) {

        /** A tiny model of the given architecture with the real vocabulary size. */
        public static Spec tiny(Architecture arch) {
            int kv = arch == Architecture.QWEN ? 4 : 2;
            return new Spec(arch, 2, 64, 4, kv, 16, 128, 151936, arch == Architecture.QWEN ? 2048 : 4096, DType.F32, 1, 1234,
                    arch != Architecture.QWEN);
        }

        public Spec withLayers(int n) {
            return new Spec(arch, n, hidden, heads, kvHeads, headDim, intermediateSize, vocab, seqLength, dtype, shards, seed, tieEmbeddings);
        }

        public Spec withDtype(DType d) {
            return new Spec(arch, layers, hidden, heads, kvHeads, headDim, intermediateSize, vocab, seqLength, d, shards, seed, tieEmbeddings);
        }

        public Spec withShards(int n) {
            return new Spec(arch, layers, hidden, heads, kvHeads, headDim, intermediateSize, vocab, seqLength, dtype, n, seed, tieEmbeddings);
        }

        public Spec withSeqLength(int s) {
            return new Spec(arch, layers, hidden, heads, kvHeads, headDim, intermediateSize, vocab, s, dtype, shards, seed, tieEmbeddings);
        }

        public Spec withSeed(long s) {
            return new Spec(arch, layers, hidden, heads, kvHeads, headDim, intermediateSize, vocab, seqLength, dtype, shards, s, tieEmbeddings);
        }

        public ModelConfig toConfig() {
            boolean v1 = arch == Architecture.QWEN;
            int kv = v1 ? heads : kvHeads;
            int hd = arch == Architecture.QWEN3 ? headDim : hidden / heads;
            String torchDtype = switch (dtype) {
                case BF16 -> "bfloat16";
                case F16 -> "float16";
                default -> "float32";
            };
            return new ModelConfig(arch, hidden, layers, heads, kv, hd, intermediateSize, vocab, 1e-6,
                    v1 ? 10000.0 : 1_000_000.0, hd, seqLength, v1 ? Math.max(8192, seqLength) : seqLength, v1, v1,
                    !v1 && tieEmbeddings, arch != Architecture.QWEN3, arch == Architecture.QWEN3,
                    v1 ? List.of(151643) : List.of(151645, 151643), torchDtype);
        }
    }

    private RandomCheckpoint() {}

    /**
     * GPTQ settings for {@link #writeGptq}: 4 bits, symmetric (zero 8), AutoGPTQ v1 packing.
     *
     * @param groupSize input features per group
     * @param descAct   write a non-trivial act-order {@code g_idx} (input features of a group spread over the row)
     */
    public record Gptq(int groupSize, boolean descAct) {}

    /** Writes the checkpoint into {@code out} (created if needed) and returns its config. */
    public static ModelConfig write(Path out, Spec spec) {
        return write(out, spec, null);
    }

    /**
     * Writes a GPTQ Int4 checkpoint (the layout of Qwen-7B-Chat-Int4: {@code quantize_config.json}, and per quantized
     * linear {@code qweight}, {@code qzeros}, {@code scales}, {@code g_idx}, {@code bias}) from the same random weights
     * {@link #write} would store, quantized with round-to-nearest per group. Embedding, norms and lm_head stay float.
     */
    public static ModelConfig writeGptq(Path out, Spec spec, Gptq gptq) {
        return write(out, spec, gptq);
    }

    private static ModelConfig write(Path out, Spec spec, Gptq gptq) {
        ModelConfig cfg = spec.toConfig();
        if (spec.arch() == Architecture.QWEN && spec.hidden() % spec.heads() != 0) {
            throw new IllegalArgumentException("hidden must be a multiple of heads");
        }
        try {
            Files.createDirectories(out);
            ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode hf = cfg.toHfJson();
            if (gptq != null) {
                ObjectNode q = om.createObjectNode();
                q.put("bits", 4);
                q.put("group_size", gptq.groupSize());
                q.put("damp_percent", 0.01);
                q.put("desc_act", gptq.descAct());
                q.put("static_groups", false);
                q.put("sym", true);
                q.put("true_sequential", true);
                q.putNull("model_name_or_path");
                q.put("model_file_base_name", "model");
                om.writeValue(out.resolve("quantize_config.json").toFile(), q);
                ObjectNode inConfig = q.deepCopy();
                inConfig.put("quant_method", "gptq");
                hf.set("quantization_config", inConfig);
            }
            om.writeValue(out.resolve("config.json").toFile(), hf);
            om.writeValue(out.resolve("generation_config.json").toFile(), generationConfig(om, cfg));
            try (InputStream in = QwenTokenizer.defaultVocabularyStream()) {
                Files.copy(in, out.resolve(QwenTokenizer.VOCAB_FILE), StandardCopyOption.REPLACE_EXISTING);
            }
            writeTensors(out, cfg, spec, gptq);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return cfg;
    }

    private static ObjectNode generationConfig(ObjectMapper om, ModelConfig cfg) {
        ObjectNode g = om.createObjectNode();
        if (cfg.architecture() == Architecture.QWEN) {
            g.put("chat_format", "chatml");
            g.put("eos_token_id", 151643);
            g.put("pad_token_id", 151643);
            g.put("max_window_size", 6144);
            g.put("max_new_tokens", 512);
            g.put("do_sample", true);
            g.put("top_k", 0);
            g.put("top_p", 0.8);
            g.put("repetition_penalty", 1.1);
        } else {
            g.putArray("eos_token_id").add(151645).add(151643);
            g.put("pad_token_id", 151643);
            g.put("do_sample", true);
            g.put("temperature", 0.7);
            g.put("top_p", 0.8);
            g.put("top_k", 20);
            g.put("repetition_penalty", 1.05);
        }
        return g;
    }

    private static void writeTensors(Path out, ModelConfig c, Spec spec, Gptq gptq) throws IOException {
        List<SafetensorsWriter> shards = new ArrayList<>();
        for (int i = 0; i < Math.max(1, spec.shards()); i++) {
            shards.add(new SafetensorsWriter());
        }
        Architecture a = c.architecture();
        DType dt = spec.dtype();
        int d = c.hiddenSize();
        Gen g = new Gen(spec.seed());
        List<Pending> pending = new ArrayList<>();
        Adder add = (name, supplier, shape) -> pending.add(new Pending(name, supplier, shape.clone()));
        double embStd = 1.0;
        add.add(a.embedding(), g.normalLike(embStd, (long) c.vocabSize() * d), c.vocabSize(), d);
        for (int i = 0; i < c.numLayers(); i++) {
            add.add(a.inputNorm(i), g.around1(d), d);
            double sIn = 1.0 / Math.sqrt(d);
            if (a == Architecture.QWEN) {
                int p = c.qSize();
                add.add(a.fusedQkv(i) + ".weight", g.normalLike(sIn, 3L * p * d), 3L * p, d);
                add.add(a.fusedQkv(i) + ".bias", g.normalLike(0.1, 3L * p), 3L * p);
            } else {
                add.add(a.qProj(i) + ".weight", g.normalLike(sIn, (long) c.qSize() * d), c.qSize(), d);
                if (c.qkvBias()) {
                    add.add(a.qProj(i) + ".bias", g.normalLike(0.1, c.qSize()), c.qSize());
                }
                add.add(a.kProj(i) + ".weight", g.normalLike(sIn, (long) c.kvSize() * d), c.kvSize(), d);
                if (c.qkvBias()) {
                    add.add(a.kProj(i) + ".bias", g.normalLike(0.1, c.kvSize()), c.kvSize());
                }
                add.add(a.vProj(i) + ".weight", g.normalLike(sIn, (long) c.kvSize() * d), c.kvSize(), d);
                if (c.qkvBias()) {
                    add.add(a.vProj(i) + ".bias", g.normalLike(0.1, c.kvSize()), c.kvSize());
                }
                if (c.qkNorm()) {
                    add.add(a.qNorm(i), g.around1(c.headDim()), c.headDim());
                    add.add(a.kNorm(i), g.around1(c.headDim()), c.headDim());
                }
            }
            add.add(a.attnOut(i) + ".weight", g.normalLike(OUT_SCALE / Math.sqrt(c.qSize()), (long) d * c.qSize()), d, c.qSize());
            add.add(a.postAttentionNorm(i), g.around1(d), d);
            int f = c.intermediateSize();
            // v1 checkpoints list w1 (up) before w2 (gate); the order does not matter to readers.
            add.add(a.mlpUp(i) + ".weight", g.normalLike(sIn, (long) f * d), f, d);
            add.add(a.mlpGate(i) + ".weight", g.normalLike(sIn, (long) f * d), f, d);
            add.add(a.mlpDown(i) + ".weight", g.normalLike(OUT_SCALE / Math.sqrt(f), (long) d * f), d, f);
        }
        add.add(a.finalNorm(), g.around1(d), d);
        if (!c.tieWordEmbeddings()) {
            add.add(a.lmHead(), g.normalLike(3.0 / Math.sqrt(d), (long) c.vocabSize() * d), c.vocabSize(), d);
        }

        distribute(gptq != null ? quantizeLinears(pending, a, gptq) : pending, shards, dt);

        if (shards.size() == 1) {
            shards.get(0).write(out.resolve(Checkpoint.SINGLE));
            return;
        }
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode index = om.createObjectNode();
        long sum = 0;
        ObjectNode map = om.createObjectNode();
        for (int s = 0; s < shards.size(); s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            shards.get(s).write(out.resolve(file));
            sum += shards.get(s).dataBytes();
            for (String n : shards.get(s).names()) {
                map.put(n, file);
            }
        }
        index.putObject("metadata").put("total_size", sum);
        index.set("weight_map", map);
        om.writeValue(out.resolve(Checkpoint.INDEX).toFile(), index);
    }

    /** A tensor to write: floats in the checkpoint's dtype, or (raw != null) bytes of a fixed dtype. */
    private record Pending(String name, Supplier<float[]> values, long[] shape, DType fixed, Supplier<byte[]> raw) {
        Pending(String name, Supplier<float[]> values, long[] shape) {
            this(name, values, shape, null, null);
        }

        long bytes(DType dt) {
            long n = (fixed != null ? fixed : dt).size();
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /**
     * Spreads the tensors over the shards in declaration order, starting a new shard once the bytes so far pass the
     * next 1/n boundary, so one layer may straddle two files, as in real checkpoints. Every shard gets at least one
     * tensor (the huge embedding and lm_head would otherwise leave shards empty and missing from the index).
     */
    private static void distribute(List<Pending> pending, List<SafetensorsWriter> shards, DType dt) {
        int n = shards.size();
        if (pending.size() < n) {
            throw new IllegalArgumentException(pending.size() + " tensors cannot fill " + n + " shards");
        }
        long total = pending.stream().mapToLong(p -> p.bytes(dt)).sum();
        long written = 0;
        int shard = 0;
        for (int i = 0; i < pending.size(); i++) {
            Pending p = pending.get(i);
            boolean pastBoundary = written >= total * (shard + 1) / n;
            boolean neededLater = pending.size() - i <= n - 1 - shard;
            if (shard < n - 1 && !shards.get(shard).names().isEmpty() && (pastBoundary || neededLater)) {
                shard++;
            }
            if (p.raw() != null) {
                shards.get(shard).addRaw(p.name(), p.fixed(), p.raw(), p.shape());
            } else {
                shards.get(shard).addFloats(p.name(), p.fixed() != null ? p.fixed() : dt, p.values(), p.shape());
            }
            written += p.bytes(dt);
        }
    }

    /**
     * Replaces every decoder linear weight (2-D {@code *.weight} other than the embedding and lm_head) by GPTQ tensors
     * and gives each such linear a bias (zeros where the float model has none), as AutoGPTQ's Qwen files do.
     */
    private static List<Pending> quantizeLinears(List<Pending> pending, Architecture a, Gptq gptq) {
        java.util.Set<String> names = new java.util.HashSet<>();
        pending.forEach(p -> names.add(p.name()));
        List<Pending> out = new ArrayList<>();
        for (Pending p : pending) {
            boolean linear = p.name().endsWith(".weight") && p.shape().length == 2 && !p.name().equals(a.embedding())
                    && !p.name().equals(a.lmHead());
            if (!linear) {
                out.add(p);
                continue;
            }
            String prefix = p.name().substring(0, p.name().length() - ".weight".length());
            int rows = (int) p.shape()[0]; // out features
            int cols = (int) p.shape()[1]; // in features
            int g = gptq.groupSize() <= 0 ? cols : gptq.groupSize();
            int groups = (cols + g - 1) / g;
            if (cols % 8 != 0 || rows % 8 != 0) {
                throw new IllegalArgumentException(p.name() + ": GPTQ needs dimensions divisible by 8");
            }
            // pack once, lazily, and share the result between the tensors of this linear
            Supplier<GptqPacker.Packed> q = memo(() -> GptqPacker.pack(p.values().get(), rows, cols, gptq.groupSize(), gptq.descAct()));
            out.add(new Pending(prefix + ".qweight", null, new long[] {cols / 8, rows}, DType.I32, () -> ints(q.get().qweight())));
            out.add(new Pending(prefix + ".qzeros", null, new long[] {groups, rows / 8}, DType.I32, () -> {
                int[] z = new int[groups * rows / 8];
                java.util.Arrays.fill(z, GptqPacker.PACKED_ZEROS);
                return ints(z);
            }));
            out.add(new Pending(prefix + ".scales", null, new long[] {groups, rows}, DType.F16,
                    () -> SafetensorsWriter.encodeFloats(DType.F16, q.get().scales())));
            out.add(new Pending(prefix + ".g_idx", null, new long[] {cols}, DType.I32, () -> ints(q.get().gIdx())));
            if (!names.contains(prefix + ".bias")) {
                out.add(new Pending(prefix + ".bias", () -> new float[rows], new long[] {rows}, DType.F16, null));
            }
        }
        return out;
    }

    private static byte[] ints(int[] v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        return b.array();
    }

    private static <T> Supplier<T> memo(Supplier<T> s) {
        return new Supplier<>() {
            private T value;

            @Override
            public synchronized T get() {
                if (value == null) {
                    value = s.get();
                }
                return value;
            }
        };
    }

    @FunctionalInterface
    private interface Adder {
        void add(String name, Supplier<float[]> values, long... shape);
    }

    /** Seeded generator; each tensor gets its own stream split off in declaration order, so output is deterministic. */
    private static final class Gen {
        private final SplittableRandom root;

        Gen(long seed) {
            this.root = new SplittableRandom(seed);
        }

        /** Uniform values with the given standard deviation (cheaper than Gaussian, same scale). */
        Supplier<float[]> normalLike(double std, long n) {
            SplittableRandom r = root.split();
            return () -> {
                float[] v = new float[Math.toIntExact(n)];
                double a = std * Math.sqrt(3.0);
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) ((r.nextDouble() * 2 - 1) * a);
                }
                return v;
            };
        }

        /** Norm weights: 1 plus a little noise. */
        Supplier<float[]> around1(int n) {
            SplittableRandom r = root.split();
            return () -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (1.0 + (r.nextDouble() * 2 - 1) * 0.1);
                }
                return v;
            };
        }
    }
}
