package io.qwenserve.engine.model;

import io.qwenserve.engine.checkpoint.DType;
import java.math.BigInteger;

/**
 * The inverse of {@link GptqWeight#unpack}: packs a float weight into AutoGPTQ v1 tensors (qwen-reference section 4),
 * symmetric 4-bit (zero point 8) round-to-nearest. Pure Java: random GPTQ checkpoints are written with it.
 */
public final class GptqPacker {
    /** Every qzeros int32: eight zero points of 8, each stored minus one. */
    public static final int PACKED_ZEROS = 0x77777777;

    /**
     * One packed linear.
     *
     * @param qweight int32 [in/8, out]: input rows 8r..8r+7 of column o in qweight[r][o], row 8r+j in bits 4j..4j+3
     * @param scales  float [groups, out]
     * @param gIdx    int [in], the group of each input feature
     */
    public record Packed(int[] qweight, float[] scales, int[] gIdx) {}

    private GptqPacker() {}

    /**
     * Packs {@code w} (row-major [out, in]) with q = clamp(round(w / s) + 8, 0, 15), s = max |w| of the group / 7.
     * With {@code descAct} the input features are spread over the groups by a fixed permutation (act order).
     */
    public static Packed pack(float[] w, int out, int in, int groupSize, boolean descAct) {
        if (in % 8 != 0 || out % 8 != 0) {
            throw new IllegalArgumentException("GPTQ needs dimensions divisible by 8, got [" + out + ", " + in + "]");
        }
        int g = groupSize <= 0 ? in : groupSize;
        int groups = (in + g - 1) / g;
        int[] gIdx = groupIndex(in, g, descAct);
        float[] scales = new float[groups * out];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < in; k++) {
                int i = gIdx[k] * out + o;
                scales[i] = Math.max(scales[i], Math.abs(w[o * in + k]));
            }
        }
        for (int i = 0; i < scales.length; i++) {
            // round the scale to a value both F16 (the file) and bf16 (libtorch's int4 kernel) hold exactly, so that a
            // kernel-vs-dequantized comparison measures the kernel, not the scale rounding
            float sc = DType.bf16ToFloat(DType.floatToBf16(Math.max(scales[i] / 7f, 1e-4f)));
            scales[i] = DType.halfToFloat(DType.floatToHalf(sc));
        }
        int[] qweight = new int[in / 8 * out];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < in; k++) {
                float s = scales[gIdx[k] * out + o];
                int q = Math.max(0, Math.min(15, Math.round(w[o * in + k] / s) + 8));
                qweight[(k / 8) * out + o] |= q << (4 * (k % 8));
            }
        }
        return new Packed(qweight, scales, gIdx);
    }

    /** g_idx: k / g, or with act order a fixed permutation of the input features spread over the groups. */
    static int[] groupIndex(int in, int g, boolean descAct) {
        int[] idx = new int[in];
        int mult = 1;
        if (descAct) {
            for (int m : new int[] {5, 7, 11, 13, 17, 19, 23}) {
                if (BigInteger.valueOf(in).gcd(BigInteger.valueOf(m)).intValue() == 1) {
                    mult = m;
                    break;
                }
            }
        }
        for (int k = 0; k < in; k++) {
            idx[k] = descAct ? (int) (((long) k * mult + 3) % in) / g : k / g;
        }
        return idx;
    }
}
