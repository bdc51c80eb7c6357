package io.qwenserve.engine.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
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

    /** Writes the checkpoint into {@code out} (created if needed) and returns its config. */
    public static ModelConfig write(Path out, Spec spec) {
        ModelConfig cfg = spec.toConfig();
        if (spec.arch() == Architecture.QWEN && spec.hidden() % spec.heads() != 0) {
            throw new IllegalArgumentException("hidden must be a multiple of heads");
        }
        try {
            Files.createDirectories(out);
            ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            om.writeValue(out.resolve("config.json").toFile(), cfg.toHfJson());
            om.writeValue(out.resolve("generation_config.json").toFile(), generationConfig(om, cfg));
            try (InputStream in = QwenTokenizer.defaultVocabularyStream()) {
                Files.copy(in, out.resolve(QwenTokenizer.VOCAB_FILE), StandardCopyOption.REPLACE_EXISTING);
            }
            writeTensors(out, cfg, spec);
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

    private static void writeTensors(Path out, ModelConfig c, Spec spec) throws IOException {
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

        distribute(pending, shards, dt);

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

    private record Pending(String name, Supplier<float[]> values, long[] shape) {
        long bytes(DType dt) {
            long n = dt.size();
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
            shards.get(shard).addFloats(p.name(), dt, p.values(), p.shape());
            written += p.bytes(dt);
        }
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
