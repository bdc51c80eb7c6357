package io.qwenserve.engine.model;

import io.qwenserve.engine.config.ModelConfig;

/**
 * Half-split ("rotate_half") rotary embedding tables, computed on the host in double precision for exactly the
 * positions of a step, plus Qwen v1's dynamic-NTK base and logN query scale.
 */
public final class RotaryEmbedding {
    private final int rotaryDim;
    private final double base;
    private final int seqLength;
    private final boolean dynamicNtk;
    private final boolean logn;
    private final java.util.Map<Double, double[]> invFreqByAlpha = new java.util.HashMap<>();

    public RotaryEmbedding(ModelConfig cfg) {
        this.rotaryDim = cfg.rotaryDim();
        this.base = cfg.ropeTheta();
        this.seqLength = cfg.seqLength();
        this.dynamicNtk = cfg.useDynamicNtk();
        this.logn = cfg.useLognAttn();
    }

    public int rotaryDim() {
        return rotaryDim;
    }

    public boolean usesLogn() {
        return logn;
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

    /** Fills cos and sin rows ([rotaryDim/2] each) for one token at {@code position}, starting at {@code offset}. */
    public void fill(int position, double alpha, float[] cos, float[] sin, int offset) {
        double[] f = invFreq(alpha);
        for (int j = 0; j < f.length; j++) {
            double angle = position * f[j];
            cos[offset + j] = (float) Math.cos(angle);
            sin[offset + j] = (float) Math.sin(angle);
        }
    }
}
