package io.qwenserve.engine.reference;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * An independent, deliberately plain float64 implementation of the Qwen v1 / Qwen2 / Qwen3 forward pass, written from
 * {@code shared/docs/qwen-reference.md} (sections 1 and 2) and used by tests as ground truth for the libtorch model.
 *
 * <p>Everything is loops over arrays. Weights are kept exactly as stored (F32, BF16 and F16 values are all exact
 * floats) and every product and sum is done in double. There is no KV cache: {@link #logits(int[])} recomputes the
 * whole prompt, which is the "prefill" case of the spec (so dynamic NTK takes its alpha from the prompt length).
 *
 * <p>Tensor names are spelled out here from the spec instead of being taken from {@link Architecture}, so that a
 * naming mistake in the main code (for example swapping Qwen v1's {@code w1}/{@code w2}) cannot hide itself.
 */
public final class ReferenceQwen {

    /** A row-major [out][in] weight matrix ({@code y = W x + b}, the PyTorch nn.Linear layout), bias optional. */
    record Linear(float[] w, float[] bias, int out, int in) {
        double[] apply(double[] x) {
            double[] y = new double[out];
            for (int o = 0; o < out; o++) {
                y[o] = dot(w, o * in, x, in) + (bias == null ? 0.0 : bias[o]);
            }
            return y;
        }

        /** Rows {@code [from, from + count)} of this matrix and bias (used to split Qwen v1's fused c_attn). */
        Linear rows(int from, int count) {
            float[] w2 = new float[count * in];
            System.arraycopy(w, from * in, w2, 0, count * in);
            float[] b2 = null;
            if (bias != null) {
                b2 = new float[count];
                System.arraycopy(bias, from, b2, 0, count);
            }
            return new Linear(w2, b2, count, in);
        }
    }

    /** One decoder layer. {@code qNorm}/{@code kNorm} are null unless the model has QK-norm (Qwen3). */
    record Layer(float[] inputNorm, Linear q, Linear k, Linear v, float[] qNorm, float[] kNorm, Linear o,
                 float[] postAttentionNorm, Linear gate, Linear up, Linear down) {}

    private final ModelConfig config;
    private final float[] embedding;   // [vocab][hidden]
    private final List<Layer> layers;
    private final float[] finalNorm;   // [hidden]
    private final float[] lmHead;      // [vocab][hidden]; the embedding itself when tied

    ReferenceQwen(ModelConfig config, float[] embedding, List<Layer> layers, float[] finalNorm, float[] lmHead) {
        this.config = config;
        this.embedding = embedding;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    public ModelConfig config() {
        return config;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Loading
    // ---------------------------------------------------------------------------------------------------------------

    /** Loads {@code config.json} and the weights (single file or sharded; F32, BF16 or F16) of a model folder. */
    public static ReferenceQwen load(Path modelDir) {
        ModelConfig c = ModelConfig.load(modelDir);
        try (Checkpoint ckpt = Checkpoint.open(modelDir)) {
            return c.architecture() == Architecture.QWEN ? loadQwen1(c, ckpt) : loadQwen2Or3(c, ckpt);
        }
    }

    private static ReferenceQwen loadQwen1(ModelConfig c, Checkpoint ckpt) {
        int d = c.hiddenSize();
        int p = c.numHeads() * c.headDim();   // projection size P
        int f = c.intermediateSize();         // real MLP width (config's intermediate_size / 2)
        long v = c.vocabSize();
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String pre = "transformer.h." + i + ".";
            Linear qkv = new Linear(read(ckpt, pre + "attn.c_attn.weight", 3L * p, d),
                    read(ckpt, pre + "attn.c_attn.bias", 3L * p), 3 * p, d);
            layers.add(new Layer(
                    read(ckpt, pre + "ln_1.weight", d),
                    qkv.rows(0, p), qkv.rows(p, p), qkv.rows(2 * p, p),
                    null, null,
                    linear(ckpt, pre + "attn.c_proj.weight", d, p),
                    read(ckpt, pre + "ln_2.weight", d),
                    linear(ckpt, pre + "mlp.w2.weight", f, d),   // w2 is the gate (SiLU applied)
                    linear(ckpt, pre + "mlp.w1.weight", f, d),   // w1 is the up projection
                    linear(ckpt, pre + "mlp.c_proj.weight", d, f)));
        }
        float[] emb = read(ckpt, "transformer.wte.weight", v, d);
        float[] head = c.tieWordEmbeddings() ? emb : read(ckpt, "lm_head.weight", v, d);
        return new ReferenceQwen(c, emb, layers, read(ckpt, "transformer.ln_f.weight", d), head);
    }

    private static ReferenceQwen loadQwen2Or3(ModelConfig c, Checkpoint ckpt) {
        int d = c.hiddenSize();
        int hd = c.headDim();
        int qs = c.numHeads() * hd;
        int kvs = c.numKvHeads() * hd;
        int f = c.intermediateSize();
        long v = c.vocabSize();
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String pre = "model.layers." + i + ".";
            String att = pre + "self_attn.";
            layers.add(new Layer(
                    read(ckpt, pre + "input_layernorm.weight", d),
                    projection(ckpt, att + "q_proj", qs, d, c.qkvBias()),
                    projection(ckpt, att + "k_proj", kvs, d, c.qkvBias()),
                    projection(ckpt, att + "v_proj", kvs, d, c.qkvBias()),
                    c.qkNorm() ? read(ckpt, att + "q_norm.weight", hd) : null,
                    c.qkNorm() ? read(ckpt, att + "k_norm.weight", hd) : null,
                    linear(ckpt, att + "o_proj.weight", d, qs),
                    read(ckpt, pre + "post_attention_layernorm.weight", d),
                    linear(ckpt, pre + "mlp.gate_proj.weight", f, d),
                    linear(ckpt, pre + "mlp.up_proj.weight", f, d),
                    linear(ckpt, pre + "mlp.down_proj.weight", d, f)));
        }
        float[] emb = read(ckpt, "model.embed_tokens.weight", v, d);
        float[] head = c.tieWordEmbeddings() ? emb : read(ckpt, "lm_head.weight", v, d);
        return new ReferenceQwen(c, emb, layers, read(ckpt, "model.norm.weight", d), head);
    }

    private static float[] read(Checkpoint ckpt, String name, long... shape) {
        return Checkpoint.readFloats(ckpt.requireFloat(name, shape));
    }

    private static Linear linear(Checkpoint ckpt, String name, int out, int in) {
        return new Linear(read(ckpt, name, out, in), null, out, in);
    }

    private static Linear projection(Checkpoint ckpt, String prefix, int out, int in, boolean bias) {
        return new Linear(read(ckpt, prefix + ".weight", out, in), bias ? read(ckpt, prefix + ".bias", out) : null,
                out, in);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Forward pass
    // ---------------------------------------------------------------------------------------------------------------

    /** Logits [T][vocab] at every position of {@code ids}, recomputed from scratch (no cache). */
    public double[][] logits(int[] ids) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        double[][] x = embed(ids);
        double[] invFreq = inverseFrequencies(ropeBase(ids.length), config.rotaryDim());
        for (Layer layer : layers) {
            double[][] h = rmsNormRows(x, layer.inputNorm(), config.rmsNormEps());
            addInPlace(x, attention(layer, h, invFreq));
            double[][] h2 = rmsNormRows(x, layer.postAttentionNorm(), config.rmsNormEps());
            addInPlace(x, mlp(layer, h2));
        }
        return lmHead(rmsNormRows(x, finalNorm, config.rmsNormEps()));
    }

    /** Step 1: embedding rows (no scaling, no position embedding). */
    double[][] embed(int[] ids) {
        int d = config.hiddenSize();
        double[][] x = new double[ids.length][d];
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[t] + " outside vocabulary " + config.vocabSize());
            }
            for (int j = 0; j < d; j++) {
                x[t][j] = embedding[ids[t] * d + j];
            }
        }
        return x;
    }

    /** RMSNorm: {@code w ⊙ x / sqrt(mean(x²) + eps)}, no bias, no mean subtraction. */
    static double[] rmsNorm(double[] x, int from, int len, float[] w, double eps) {
        double ss = 0;
        for (int i = 0; i < len; i++) {
            ss += x[from + i] * x[from + i];
        }
        double inv = 1.0 / Math.sqrt(ss / len + eps);
        double[] y = new double[len];
        for (int i = 0; i < len; i++) {
            y[i] = w[i] * (x[from + i] * inv);
        }
        return y;
    }

    static double[][] rmsNormRows(double[][] x, float[] w, double eps) {
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            y[t] = rmsNorm(x[t], 0, x[t].length, w, eps);
        }
        return y;
    }

    /** Self-attention of one layer over the whole sequence (positions 0..T-1), including the output projection. */
    double[][] attention(Layer layer, double[][] h, double[] invFreq) {
        int seqLen = h.length;
        int nh = config.numHeads();
        int hd = config.headDim();
        int group = nh / config.numKvHeads();
        double[][] q = new double[seqLen][];
        double[][] k = new double[seqLen][];
        double[][] v = new double[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            q[t] = layer.q().apply(h[t]);
            k[t] = layer.k().apply(h[t]);
            v[t] = layer.v().apply(h[t]);
            if (layer.qNorm() != null) {
                headRmsNorm(q[t], layer.qNorm());
                headRmsNorm(k[t], layer.kNorm());
            }
            for (int head = 0; head < nh; head++) {
                applyRope(q[t], head * hd, config.rotaryDim(), t, invFreq);
            }
            for (int head = 0; head < config.numKvHeads(); head++) {
                applyRope(k[t], head * hd, config.rotaryDim(), t, invFreq);
            }
            if (config.useLognAttn()) {
                double s = lognScale(t, config.seqLength());
                for (int j = 0; j < q[t].length; j++) {
                    q[t][j] *= s;
                }
            }
        }
        double scale = 1.0 / Math.sqrt(hd);
        double[][] out = new double[seqLen][nh * hd];
        for (int head = 0; head < nh; head++) {
            int qOff = head * hd;
            int kvOff = (head / group) * hd;   // GQA: each KV head serves a contiguous block of query heads
            for (int t = 0; t < seqLen; t++) {
                // causal mask: query t sees keys 0..t
                double[] scores = new double[t + 1];
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int j = 0; j < hd; j++) {
                        dot += q[t][qOff + j] * k[s][kvOff + j];
                    }
                    scores[s] = dot * scale;
                }
                double[] p = softmax(scores);
                for (int s = 0; s <= t; s++) {
                    for (int j = 0; j < hd; j++) {
                        out[t][qOff + j] += p[s] * v[s][kvOff + j];
                    }
                }
            }
        }
        double[][] o = new double[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            o[t] = layer.o().apply(out[t]);
        }
        return o;
    }

    /** Qwen3 QK-norm: RMSNorm of every head vector over head_dim, in place. */
    void headRmsNorm(double[] vec, float[] w) {
        int hd = config.headDim();
        for (int off = 0; off < vec.length; off += hd) {
            double[] y = rmsNorm(vec, off, hd, w, config.rmsNormEps());
            System.arraycopy(y, 0, vec, off, hd);
        }
    }

    /** Numerically stable softmax. */
    static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] e = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            e[i] = Math.exp(z[i] - max);
            sum += e[i];
        }
        for (int i = 0; i < z.length; i++) {
            e[i] /= sum;
        }
        return e;
    }

    /** SwiGLU MLP: {@code down( silu(gate(x)) ⊙ up(x) )}. For Qwen v1, gate = w2 and up = w1. */
    double[][] mlp(Layer layer, double[][] h) {
        double[][] y = new double[h.length][];
        for (int t = 0; t < h.length; t++) {
            double[] g = layer.gate().apply(h[t]);
            double[] u = layer.up().apply(h[t]);
            double[] m = new double[g.length];
            for (int j = 0; j < g.length; j++) {
                m[j] = silu(g[j]) * u[j];
            }
            y[t] = layer.down().apply(m);
        }
        return y;
    }

    static double silu(double z) {
        return z / (1.0 + Math.exp(-z));
    }

    /** Final projection onto the (padded) vocabulary; parallel over vocabulary rows, each dot product sequential. */
    double[][] lmHead(double[][] x) {
        int d = config.hiddenSize();
        double[][] logits = new double[x.length][config.vocabSize()];
        IntStream.range(0, config.vocabSize()).parallel().forEach(row -> {
            for (int t = 0; t < x.length; t++) {
                logits[t][row] = dot(lmHead, row * d, x[t], d);
            }
        });
        return logits;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Position handling: RoPE, dynamic NTK, logN
    // ---------------------------------------------------------------------------------------------------------------

    /** The RoPE base for a prefill of {@code length} tokens: rope theta, scaled by dynamic NTK when enabled. */
    double ropeBase(int length) {
        double base = config.ropeTheta();
        if (!config.useDynamicNtk()) {
            return base;
        }
        return ntkScaledBase(base, ntkAlpha(length, config.seqLength()), config.rotaryDim());
    }

    /**
     * Dynamic NTK alpha = max(2^ceil(log2(L/S) + 1) − 1, 1), evaluated exactly in integers: for L ≤ S it is 1,
     * otherwise 2^(k+1) − 1 with k the smallest integer such that S·2^k ≥ L.
     */
    static long ntkAlpha(long length, long seqLength) {
        if (length <= seqLength) {
            return 1;
        }
        int k = 0;
        while (seqLength << k < length) {
            k++;
        }
        return (1L << (k + 1)) - 1;
    }

    /** base' = base · alpha^(r / (r − 2)). */
    static double ntkScaledBase(double base, long alpha, int rotaryDim) {
        return base * Math.pow(alpha, (double) rotaryDim / (rotaryDim - 2));
    }

    /** inv_freq[j] = 1 / base^(2j / r), j = 0 … r/2 − 1, in double. */
    static double[] inverseFrequencies(double base, int rotaryDim) {
        double[] f = new double[rotaryDim / 2];
        for (int j = 0; j < f.length; j++) {
            f[j] = 1.0 / Math.pow(base, (2.0 * j) / rotaryDim);
        }
        return f;
    }

    /**
     * Half-split ("rotate_half") RoPE in place on the head vector at {@code vec[off .. off+headDim)}: element i < r/2
     * is paired with i + r/2 and the pair is rotated by θ = pos · invFreq[i]. Elements at index ≥ r pass through.
     */
    static void applyRope(double[] vec, int off, int rotaryDim, int pos, double[] invFreq) {
        int half = rotaryDim / 2;
        for (int i = 0; i < half; i++) {
            double theta = pos * invFreq[i];
            double cos = Math.cos(theta);
            double sin = Math.sin(theta);
            double a = vec[off + i];
            double b = vec[off + i + half];
            vec[off + i] = a * cos - b * sin;
            vec[off + i + half] = b * cos + a * sin;
        }
    }

    /** LogN query scale for 0-based position p: ln(p+1)/ln(S) when p+1 > S, else 1. */
    static double lognScale(int pos, int seqLength) {
        return pos + 1 > seqLength ? Math.log(pos + 1.0) / Math.log(seqLength) : 1.0;
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static double dot(float[] w, int off, double[] x, int n) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            s += w[off + j] * x[j];
        }
        return s;
    }

    private static void addInPlace(double[][] x, double[][] delta) {
        for (int t = 0; t < x.length; t++) {
            for (int j = 0; j < x[t].length; j++) {
                x[t][j] += delta[t][j];
            }
        }
    }
}
