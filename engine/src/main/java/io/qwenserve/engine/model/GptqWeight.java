package io.qwenserve.engine.model;

import java.util.List;
import io.qwenserve.engine.checkpoint.CheckpointException;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRef;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One GPTQ 4-bit linear, unpacked: W[n, k] = scales[g_idx[k], n] * (q[n, k] - zeros[g_idx[k], n]).
 *
 * @param q         int32 [N, K], values 0..15 (N = out features, K = in features)
 * @param scales    float32 [G, N]
 * @param zeros     int32 [G, N], the real zero points (the v1 file stores them minus one)
 * @param gIdx      int64 [K], group of each input feature
 * @param groupSize input features per group
 * @param sequentialGroups whether g_idx[k] == k / groupSize for every k (no act-order permutation)
 */
public record GptqWeight(Tensor q, Tensor scales, Tensor zeros, Tensor gIdx, int groupSize, boolean sequentialGroups)
        implements AutoCloseable {

    /**
     * Unpacks one AutoGPTQ v1 linear (qwen-reference section 4): {@code qweight} int32 [in/8, out], {@code qzeros} int32
     * [groups, out/8] (zeros stored minus one), {@code scales} float [groups, out], {@code gIdx} int [in] or null
     * (k / g). The inputs stay owned by the caller.
     */
    public static GptqWeight unpack(String where, Tensor qweight, Tensor qzeros, Tensor scales, Tensor gIdx, long in,
                                    long out, int g) {
        long groups = (in + g - 1) / g;
        Device cpu = new Device(torch.DeviceType.CPU);
        try (PointerScope scope = new PointerScope()) {
            Tensor shifts = torch.arange(new Scalar(0), new Scalar(32), new Scalar(4), Torch.options(ScalarType.Int, cpu));
            // qweight[r][o] holds input rows 8r..8r+7 of column o, row 8r+j in bits 4j..4j+3
            Tensor q = qweight.unsqueeze(1).bitwise_right_shift(shifts.view(1, 8, 1)).bitwise_and(new Scalar(15))
                    .reshape(in, out).t().contiguous();
            // qzeros[g][c] holds columns 8c..8c+7, stored minus one
            Tensor z = qzeros.unsqueeze(2).bitwise_right_shift(shifts.view(1, 1, 8)).bitwise_and(new Scalar(15))
                    .reshape(groups, out).add(new Scalar(1)).contiguous();
            Tensor s = scales.to(ScalarType.Float).contiguous();
            Tensor seq = torch.arange(new Scalar(0), new Scalar(in), new Scalar(1), Torch.options(ScalarType.Long, cpu))
                    .floor_divide(new Scalar(g));
            Tensor idx = gIdx == null ? seq : gIdx.to(ScalarType.Long).contiguous();
            if (idx.lt(new Scalar(0)).any().item_bool() || idx.ge(new Scalar(groups)).any().item_bool()) {
                throw new CheckpointException(where + ".g_idx: group index out of range 0.." + (groups - 1));
            }
            GptqWeight w = new GptqWeight(q, s, z, idx, g, idx.equal(seq));
            q.retainReference();
            s.retainReference();
            z.retainReference();
            idx.retainReference();
            return w;
        }
    }

    public long outFeatures() {
        return q.size(0);
    }

    public long inFeatures() {
        return q.size(1);
    }

    /** Whether libtorch's int4 CPU kernel can run this weight as stored (else it is dequantized). */
    public String int4KernelUnfit() {
        if (!sequentialGroups) {
            return "desc_act (act-order g_idx)";
        }
        if (groupSize != 32 && groupSize != 64 && groupSize != 128 && groupSize != 256) {
            return "group size " + groupSize + " (the kernel takes 32, 64, 128 or 256)";
        }
        if (inFeatures() % groupSize != 0) {
            return "in features " + inFeatures() + " not a multiple of the group size " + groupSize;
        }
        if (outFeatures() % 16 != 0) {
            return "out features " + outFeatures() + " not a multiple of 16";
        }
        return null;
    }

    /** This weight with its output rows in {@code order} [N] (long): a new weight; this one and {@code order} are closed. */
    public GptqWeight selectOutputs(Tensor order) {
        try (PointerScope scope = new PointerScope()) {
            GptqWeight w = new GptqWeight(q.index_select(0, order).contiguous(), scales.index_select(1, order).contiguous(),
                    zeros.index_select(1, order).contiguous(), new Tensor(gIdx), groupSize, sequentialGroups);
            w.q().retainReference();
            w.scales().retainReference();
            w.zeros().retainReference();
            w.gIdx().retainReference();
            close();
            order.close();
            return w;
        }
    }

    /** Dequantizes to a float [N, K] weight of the given type (computed in float32). */
    public Tensor dequantize(ScalarType type) {
        try (PointerScope scope = new PointerScope()) {
            Tensor s = scales.index_select(0, gIdx).t();              // [N, K]
            Tensor z = zeros.index_select(0, gIdx).t();
            Tensor w = q.sub(z).to(ScalarType.Float).mul(s).to(type);
            w.retainReference();
            return w;
        }
    }

    /** Scales and zeros in the int4 kernel's form: bf16 [K/g, N, 2] with zero = (8 - z) * s. */
    public Tensor scalesAndZeros() {
        try (PointerScope scope = new PointerScope()) {
            Tensor zs = torch.rsub(zeros, new Scalar(8)).to(ScalarType.Float).mul(scales);
            Tensor st = torch.stack(new TensorArrayRef(new TensorVector(scales, zs)), 2).to(ScalarType.BFloat16).contiguous();
            st.retainReference();
            return st;
        }
    }

    /**
     * Concatenates linears along the output dimension (q/k/v, gate/up). All parts must share g_idx, which holds for
     * sequential groups; returns null otherwise (the caller dequantizes each part).
     */
    public static GptqWeight concat(List<GptqWeight> parts) {
        GptqWeight first = parts.get(0);
        for (GptqWeight p : parts) {
            if (!p.sequentialGroups() || p.groupSize() != first.groupSize() || p.inFeatures() != first.inFeatures()) {
                return null;
            }
        }
        try (PointerScope scope = new PointerScope()) {
            GptqWeight out = concatIn(parts, first);
            out.q().retainReference();
            out.scales().retainReference();
            out.zeros().retainReference();
            out.gIdx().retainReference();
            parts.forEach(GptqWeight::close);
            return out;
        }
    }

    private static GptqWeight concatIn(List<GptqWeight> parts, GptqWeight first) {
        TensorVector qs = new TensorVector();
        TensorVector ss = new TensorVector();
        TensorVector zs = new TensorVector();
        for (GptqWeight p : parts) {
            qs.push_back(p.q());
            ss.push_back(p.scales());
            zs.push_back(p.zeros());
        }
        GptqWeight out = new GptqWeight(torch.cat(new TensorArrayRef(qs), 0), torch.cat(new TensorArrayRef(ss), 1),
                torch.cat(new TensorArrayRef(zs), 1), new Tensor(first.gIdx()), first.groupSize(), true);
        return out;
    }

    @Override
    public void close() {
        q.close();
        scales.close();
        zeros.close();
        gIdx.close();
    }
}
