package io.qwenserve.engine.model;

import io.qwenserve.engine.config.ModelConfig;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Half-split ("rotate_half") rotary embedding, applied as one complex multiplication per step and layer.
 *
 * <p>Qwen rotates dimension pairs {@code (i, i + r/2)} of each head. At load the q and k rows of the projection weight
 * are reordered within each head ({@link #headPermutation}) so that those pairs sit next to each other: a head then
 * reads as {@code r/2} complex numbers and RoPE is {@code heads * freqs[position]} with {@code freqs = cos + i sin}.
 * The same reordering of q and k leaves every dot product q·k, and so attention, unchanged; values are not reordered.
 * The cached keys are stored in that order.
 *
 * <p>The complex table {@code [positions, r/2]} is computed on the host in double precision (as the reference code
 * does, then rounded to float32) and kept on the model's device, one per dynamic-NTK alpha, grown as positions need it;
 * a step selects its rows once and every layer reuses them. Also Qwen v1's dynamic-NTK base and logN query scale.
 */
public final class RotaryEmbedding implements AutoCloseable {
    private static final int MIN_TABLE = 4096;

    private final int rotaryDim;
    private final int headDim;
    private final double base;
    private final int seqLength;
    private final boolean dynamicNtk;
    private final boolean logn;
    private final Device device;
    private final Map<Double, double[]> invFreqByAlpha = new HashMap<>();
    private final Map<Double, Tensor> tableByAlpha = new HashMap<>(); // complex64 [n, r/2]

    public RotaryEmbedding(ModelConfig cfg, Device device) {
        this.rotaryDim = cfg.rotaryDim();
        this.headDim = cfg.headDim();
        this.base = cfg.ropeTheta();
        this.seqLength = cfg.seqLength();
        this.dynamicNtk = cfg.useDynamicNtk();
        this.logn = cfg.useLognAttn();
        this.device = device;
    }

    public int rotaryDim() {
        return rotaryDim;
    }

    public boolean usesLogn() {
        return logn;
    }

    /**
     * The within-head order of q and k dimensions the model uses: new dimension {@code 2i} is checkpoint dimension
     * {@code i} and {@code 2i + 1} is {@code i + r/2} for {@code i < r/2}; dimensions past the rotary part keep their
     * place. Applied to the rows of each q and k head of the projection (and their biases and q/k norm weights).
     */
    public static int[] headPermutation(int headDim, int rotaryDim) {
        int[] p = new int[headDim];
        int half = rotaryDim / 2;
        for (int i = 0; i < half; i++) {
            p[2 * i] = i;
            p[2 * i + 1] = i + half;
        }
        for (int j = rotaryDim; j < headDim; j++) {
            p[j] = j;
        }
        return p;
    }

    /**
     * Dynamic-NTK alpha for a sequence first prefilled with {@code length} tokens: {@code max(2^ceil(log2(L/S)+1) - 1,
     * 1)}; 1 when the model does not use dynamic NTK. Decoding reuses the alpha of the prefill.
     */
    public double ntkAlpha(int length) {
        if (!dynamicNtk || length <= seqLength) {
            return 1.0;
        }
        double context = Math.log((double) length / seqLength) / Math.log(2) + 1;
        return Math.max(Math.pow(2, Math.ceil(context)) - 1, 1);
    }

    /** logN query scale at 0-based position p: ln(p+1)/ln(S) once p+1 > S, else 1 (always 1 without logN). */
    public double lognScale(int position) {
        if (!logn || position + 1 <= seqLength) {
            return 1.0;
        }
        return Math.log(position + 1.0) / Math.log(seqLength);
    }

    private double[] invFreq(double alpha) {
        return invFreqByAlpha.computeIfAbsent(alpha, a -> {
            double b = a == 1.0 ? base : base * Math.pow(a, (double) rotaryDim / (rotaryDim - 2));
            double[] f = new double[rotaryDim / 2];
            for (int j = 0; j < f.length; j++) {
                f[j] = 1.0 / Math.pow(b, 2.0 * j / rotaryDim);
            }
            return f;
        });
    }

    /** The complex table of {@code alpha} covering positions {@code 0..maxPosition} (grown, never shrunk). */
    Tensor table(double alpha, int maxPosition) {
        Tensor t = tableByAlpha.get(alpha);
        if (t != null && t.size(0) > maxPosition) {
            return t;
        }
        int n = Math.max(MIN_TABLE, Integer.highestOneBit(Math.max(1, maxPosition)) * 2);
        double[] f = invFreq(alpha);
        float[] cs = new float[n * f.length * 2];
        for (int pos = 0; pos < n; pos++) {
            for (int j = 0; j < f.length; j++) {
                double angle = pos * f[j];
                cs[(pos * f.length + j) * 2] = (float) Math.cos(angle);
                cs[(pos * f.length + j) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        Tensor grown;
        try (PointerScope scope = new PointerScope()) {
            grown = torch.view_as_complex(Torch.floats(cs, device, n, f.length, 2));
            grown.retainReference();
        }
        if (t != null) {
            t.close();
        }
        tableByAlpha.put(alpha, grown);
        return grown;
    }

    /**
     * Rotates {@code heads} [T, n, headDim] (a view into the projection output, any float type) in place by
     * {@code freqs} [T, 1, r/2] complex64: converts the rotary part to float32, multiplies, writes back.
     */
    void rotate(Tensor heads, Tensor freqs) {
        long t = heads.size(0);
        long n = heads.size(1);
        Tensor rot = rotaryDim == headDim ? heads : heads.narrow(2, 0, rotaryDim);
        Tensor c = torch.view_as_complex(rot.to(ScalarType.Float).view(t, n, rotaryDim / 2, 2));
        rot.copy_(torch.view_as_real(c.mul(freqs)).view(t, n, rotaryDim));
    }

    /** Fills cos and sin rows ([rotaryDim/2] each) for one token at {@code position}, starting at {@code offset}. */
    public void fill(int position, double alpha, float[] cos, float[] sin, int offset) {
        double[] f = invFreq(alpha);
        for (int j = 0; j < f.length; j++) {
            double angle = position * f[j];
            cos[offset + j] = (float) Math.cos(angle);
            sin[offset + j] = (float) Math.sin(angle);
        }
    }

    @Override
    public void close() {
        tableByAlpha.values().forEach(Tensor::close);
        tableByAlpha.clear();
    }
}
