package io.qwenserve.engine.reference;

import static io.qwenserve.engine.reference.RefMath.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks {@link ReferenceQwen} against hand computations on tiny hand-built models: whole one-layer models whose output
 * is written out here step by step with simpler weights (RoPE, NTK and logN alone: {@link ReferenceRopeSanityTest}).
 */
class ReferenceQwenSanityTest {
    private static final double EPS = 1e-6;

    @TempDir
    Path tmp;

    private static ModelConfig tinyConfig(Architecture arch, boolean tie) {
        return switch (arch) {
            case QWEN -> HandModel.qwen1(8, 2, 6, 11, 2048, 4, false, false);
            case QWEN2 -> HandModel.qwen2(8, 4, 2, 6, 11, tie);
            case QWEN3 -> HandModel.qwen3(8, 4, 2, 6, 6, 11, tie);
        };
    }

    /** With all attention and MLP weights zero the residual stream is the embedding: logits = lm_head · RMSNorm(e). */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void zeroAttentionAndMlpGiveLmHeadOfNormalisedEmbedding(Architecture arch) {
        for (boolean tie : arch == Architecture.QWEN ? new boolean[] {false} : new boolean[] {false, true}) {
            ModelConfig c = tinyConfig(arch, tie);
            HandModel m = new HandModel(c);
            Random rnd = new Random(3);
            m.random(arch.embedding(), rnd, 0, 1).random(arch.finalNorm(), rnd, 1, 0.5);
            m.random(arch.inputNorm(0), rnd, 1, 0.5).random(arch.postAttentionNorm(0), rnd, 1, 0.5);
            if (!tie) {
                m.random(arch.lmHead(), rnd, 0, 1);
            }
            ReferenceQwen ref = ReferenceQwen.load(m.write(tmp.resolve(arch + "-" + tie)));
            int[] ids = {3, 0, 10, 3, 7};
            double[][] logits = ref.logits(ids);
            float[] head = m.get(tie ? arch.embedding() : arch.lmHead());
            int d = c.hiddenSize();
            for (int t = 0; t < ids.length; t++) {
                double[] e = row(m.get(arch.embedding()), ids[t], d);
                double[] y = scale(rmsNormalise(e), m.get(arch.finalNorm()));
                for (int v = 0; v < c.vocabSize(); v++) {
                    assertEquals(dot(row(head, v, d), y), logits[t][v], 1e-12, "t=" + t + " v=" + v);
                }
            }
        }
    }

    /**
     * One token attends only to itself (softmax weight 1), so the layer is plain matrix algebra written out here:
     * this checks the V slice of Qwen v1's fused c_attn, the GQA head mapping, the o_proj, the gate/up assignment
     * of the MLP (v1: w2 is the gate), the residuals and all three norms.
     */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void singleTokenLayerEqualsMatrixFormula(Architecture arch) {
        ModelConfig c = tinyConfig(arch, false);
        HandModel m = new HandModel(c).randomAll(new Random(4));
        ReferenceQwen ref = ReferenceQwen.load(m.write(tmp.resolve(arch.name())));
        int d = c.hiddenSize();
        int hd = c.headDim();
        int id = 6;

        double[] x = row(m.get(arch.embedding()), id, d);
        double[] h = scale(rmsNormalise(x), m.get(arch.inputNorm(0)));
        double[] v;
        if (arch == Architecture.QWEN) {
            int p = c.qSize();
            double[] qkv = add(matVec(m.get(arch.fusedQkv(0) + ".weight"), 3 * p, d, h), m.get(arch.fusedQkv(0) + ".bias"));
            v = Arrays.copyOfRange(qkv, 2 * p, 3 * p);
        } else {
            v = matVec(m.get(arch.vProj(0) + ".weight"), c.kvSize(), d, h);
            if (c.qkvBias()) {
                v = add(v, m.get(arch.vProj(0) + ".bias"));
            }
        }
        double[] heads = new double[c.qSize()];
        int perKv = c.numHeads() / c.numKvHeads();
        for (int qh = 0; qh < c.numHeads(); qh++) {
            System.arraycopy(v, (qh / perKv) * hd, heads, qh * hd, hd);
        }
        x = add(x, matVec(m.get(arch.attnOut(0) + ".weight"), d, c.qSize(), heads));
        double[] h2 = scale(rmsNormalise(x), m.get(arch.postAttentionNorm(0)));
        int f = c.intermediateSize();
        String gateName = arch == Architecture.QWEN ? "transformer.h.0.mlp.w2.weight" : "model.layers.0.mlp.gate_proj.weight";
        String upName = arch == Architecture.QWEN ? "transformer.h.0.mlp.w1.weight" : "model.layers.0.mlp.up_proj.weight";
        double[] g = matVec(m.get(gateName), f, d, h2);
        double[] u = matVec(m.get(upName), f, d, h2);
        double[] act = new double[f];
        for (int j = 0; j < f; j++) {
            act[j] = u[j] * g[j] / (1 + Math.exp(-g[j]));
        }
        x = add(x, matVec(m.get(arch.mlpDown(0) + ".weight"), d, f, act));
        double[] expected = matVec(m.get(arch.lmHead()), c.vocabSize(), d, scale(rmsNormalise(x), m.get(arch.finalNorm())));

        assertArrayEquals(expected, ref.logits(new int[] {id})[0], 1e-12);
    }

    /**
     * Several tokens through one Qwen v1 layer with Q = I, K = 2I, V = 3I (fused, plus random biases), c_proj = I,
     * zero MLP and lm_head = I: the expected logits are written with complex-number RoPE and an explicit causal
     * softmax. Rotary dim 4 (full) and 2 (half: the other dims pass through).
     */
    @ParameterizedTest
    @ValueSource(ints = {4, 2})
    void qwen1AttentionByHand(int rotaryDim) {
        int d = 8;
        int nh = 2;
        int hd = 4;
        ModelConfig c = HandModel.qwen1(d, nh, 4, d + 1, 2048, rotaryDim, false, false);
        assertEquals(rotaryDim, c.rotaryDim());
        HandModel m = new HandModel(c);
        Random rnd = new Random(5);
        m.random("transformer.wte.weight", rnd, 0, 1.5).random("transformer.h.0.attn.c_attn.bias", rnd, 0, 0.5);
        float[] qkv = m.get("transformer.h.0.attn.c_attn.weight");
        for (int i = 0; i < d; i++) {
            qkv[i * d + i] = 1;               // Q rows 0..P-1
            qkv[(d + i) * d + i] = 2;         // K rows P..2P-1
            qkv[(2 * d + i) * d + i] = 3;     // V rows 2P..3P-1
        }
        identity(m.get("transformer.h.0.attn.c_proj.weight"), d, d);
        identity(m.get("lm_head.weight"), d + 1, d);
        Path dir = m.write(tmp.resolve("v1-" + rotaryDim));
        ReferenceQwen ref = ReferenceQwen.load(dir);

        int[] ids = {3, 1, 4, 1, 5, 1};
        float[] emb = m.get("transformer.wte.weight");
        float[] bias = m.get("transformer.h.0.attn.c_attn.bias");
        double[][] hs = new double[ids.length][];
        for (int t = 0; t < ids.length; t++) {
            hs[t] = rmsNormalise(row(emb, ids[t], d));
        }
        double[][] actual = ref.logits(ids);
        for (int t = 0; t < ids.length; t++) {
            double[] attn = new double[d];
            for (int head = 0; head < nh; head++) {
                int o = head * hd;
                double[] q = complexRope(affine(hs[t], o, hd, 1, bias, o), t, 10000, rotaryDim);
                double[] weights = new double[t + 1];
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    double[] k = complexRope(affine(hs[s], o, hd, 2, bias, d + o), s, 10000, rotaryDim);
                    weights[s] = Math.exp(dot(q, k) / Math.sqrt(hd));
                    sum += weights[s];
                }
                for (int s = 0; s <= t; s++) {
                    double[] v = affine(hs[s], o, hd, 3, bias, 2 * d + o);
                    for (int j = 0; j < hd; j++) {
                        attn[o + j] += weights[s] / sum * v[j];
                    }
                }
            }
            double[] y = rmsNormalise(add(row(emb, ids[t], d), attn));
            for (int j = 0; j < d; j++) {
                assertEquals(y[j], actual[t][j], 1e-12, "t=" + t + " j=" + j);
            }
            assertEquals(0.0, actual[t][d], "lm_head row " + d + " is zero");
        }
    }

    /**
     * Qwen3 with GQA (2 query heads on 1 KV head), head_dim ≠ hidden/heads and QK-norm: Q = [I; −I], K = I, V random,
     * o_proj = [I, I/2], zero MLP, lm_head = I. Written out by hand, RMS-normalising each head before RoPE.
     */
    @Test
    void qwen3QkNormAndGqaByHand() {
        int d = 4;
        int hd = 4;
        ModelConfig c = HandModel.qwen3(d, 2, 1, hd, 4, d, false);
        HandModel m = new HandModel(c);
        Random rnd = new Random(6);
        m.random("model.embed_tokens.weight", rnd, 0, 1.5).random("model.layers.0.self_attn.v_proj.weight", rnd, 0, 1);
        float[] wq = {1f, 2f, 0.5f, 1f};
        float[] wk = {0.5f, 1f, 1f, 2f};
        m.set("model.layers.0.self_attn.q_norm.weight", wq).set("model.layers.0.self_attn.k_norm.weight", wk);
        float[] q = m.get("model.layers.0.self_attn.q_proj.weight");
        for (int i = 0; i < d; i++) {
            q[i * d + i] = 1;
            q[(d + i) * d + i] = -1;
        }
        identity(m.get("model.layers.0.self_attn.k_proj.weight"), d, d);
        float[] o = m.get("model.layers.0.self_attn.o_proj.weight");   // [d, 2·hd]
        for (int i = 0; i < d; i++) {
            o[i * 2 * hd + i] = 1;
            o[i * 2 * hd + hd + i] = 0.5f;
        }
        identity(m.get("lm_head.weight"), d, d);
        ReferenceQwen ref = ReferenceQwen.load(m.write(tmp.resolve("q3")));

        int[] ids = {2, 0, 2, 3, 1};
        float[] emb = m.get("model.embed_tokens.weight");
        float[] wv = m.get("model.layers.0.self_attn.v_proj.weight");
        double[][] actual = ref.logits(ids);
        for (int t = 0; t < ids.length; t++) {
            double[] h = rmsNormalise(row(emb, ids[t], d));
            double[] attn = new double[d];
            for (int head = 0; head < 2; head++) {
                double sign = head == 0 ? 1 : -1;
                double[] qh = complexRope(scale(rmsNormalise(times(h, sign)), wq), t, 1e6, hd);
                double[] w = new double[t + 1];
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    double[] hsv = rmsNormalise(row(emb, ids[s], d));
                    double[] k = complexRope(scale(rmsNormalise(hsv), wk), s, 1e6, hd);
                    w[s] = Math.exp(dot(qh, k) / Math.sqrt(hd));
                    sum += w[s];
                }
                for (int s = 0; s <= t; s++) {
                    double[] v = matVec(wv, hd, d, rmsNormalise(row(emb, ids[s], d)));
                    for (int j = 0; j < d; j++) {
                        attn[j] += (head == 0 ? 1 : 0.5) * w[s] / sum * v[j];
                    }
                }
            }
            assertArrayEquals(rmsNormalise(add(row(emb, ids[t], d), attn)), actual[t], 1e-12, "t=" + t);
        }
    }

    /** LogN changes only positions p with p + 1 > seq_length, and by exactly the spec's factor on the queries. */
    @Test
    void lognAffectsOnlyPositionsPastSeqLength() {
        int seq = 4;
        ModelConfig on = HandModel.qwen1(8, 2, 6, 11, seq, 4, false, true);
        ModelConfig off = HandModel.qwen1(8, 2, 6, 11, seq, 4, false, false);
        Random rnd = new Random(7);
        HandModel m = new HandModel(on).randomAll(rnd);
        Path dirOn = m.write(tmp.resolve("logn-on"));
        HandModel m2 = new HandModel(off);
        for (String name : new String[] {"transformer.wte.weight", "transformer.h.0.ln_1.weight", "transformer.h.0.attn.c_attn.weight",
                "transformer.h.0.attn.c_attn.bias", "transformer.h.0.attn.c_proj.weight", "transformer.h.0.ln_2.weight",
                "transformer.h.0.mlp.w1.weight", "transformer.h.0.mlp.w2.weight", "transformer.h.0.mlp.c_proj.weight",
                "transformer.ln_f.weight", "lm_head.weight"}) {
            m2.set(name, m.get(name));
        }
        Path dirOff = m2.write(tmp.resolve("logn-off"));
        int[] ids = {1, 2, 3, 4, 5, 6, 7, 8};
        double[][] a = ReferenceQwen.load(dirOn).logits(ids);
        double[][] b = ReferenceQwen.load(dirOff).logits(ids);
        for (int t = 0; t < ids.length; t++) {
            if (t + 1 <= seq) {
                assertArrayEquals(b[t], a[t], "t=" + t);
            } else {
                assertFalse(Arrays.equals(a[t], b[t]), "t=" + t);
            }
        }
    }
}
