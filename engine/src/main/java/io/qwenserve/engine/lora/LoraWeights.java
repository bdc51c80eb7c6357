package io.qwenserve.engine.lora;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.DeviceMap;
import io.qwenserve.engine.model.RotaryEmbedding;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.train.LoraPair;
import io.qwenserve.engine.train.PeftAdapter;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One LoRA adapter in the serving model's layout: per decoder layer, one entry for each of the four fused linears the
 * forward pass runs ({@link Target}). The checkpoint's modules of a fused linear share their input, so their A's are
 * stacked into one [sum r, in] matrix (one product for all of them); each module keeps its own B [out_k, r_k], with
 * alpha/r folded in, held transposed, its output columns in the serving model's order (q and k heads in RoPE order, as {@code ModelLoader}
 * stores the q/k/v projection), applied to its columns of the fused output. Modules the adapter does not target
 * contribute nothing; a fused linear none of whose modules is targeted has no entry. Tensors are in the compute dtype
 * on the device of their layer.
 */
public final class LoraWeights implements AutoCloseable {
    /** The fused linears of a serving decoder layer, in the order the layer runs them. */
    public enum Target { QKV, OUT, GATE_UP, DOWN }

    /**
     * One module's B, held transposed as {@code bT} [rLength, outLength] (so the update is one in-place addmm): output
     * columns from {@code outStart}, rank columns of z from {@code rStart}.
     */
    public record Part(long outStart, long rStart, Tensor bT) {}

    /** The stacked A [R, in] of one fused linear and the B of each adapted module in it. */
    public record Pair(Tensor a, List<Part> parts) {}

    private final String name;
    private final Pair[][] pairs; // [layer][target], null entries where nothing is adapted
    private final long bytes;

    private LoraWeights(String name, Pair[][] pairs) {
        this.name = name;
        this.pairs = pairs;
        long sum = 0;
        for (Pair[] layer : pairs) {
            for (Pair p : layer) {
                if (p != null) {
                    sum += p.a().nbytes() + p.parts().stream().mapToLong(x -> x.bT().nbytes()).sum();
                }
            }
        }
        this.bytes = sum;
    }

    public String name() {
        return name;
    }

    /** The pair of {@code target} in {@code layer}, or null. */
    public Pair pair(int layer, Target target) {
        return pairs[layer][target.ordinal()];
    }

    public long bytes() {
        return bytes;
    }

    /** The serving form of {@code adapter} (checked against {@code cfg} when it was read). */
    public static LoraWeights of(String name, PeftAdapter adapter, ModelConfig cfg, ScalarType dtype, DeviceMap devices) {
        Architecture a = cfg.architecture();
        Map<String, LoraPair> modules = adapter.pairs();
        Pair[][] pairs = new Pair[cfg.numLayers()][];
        long d = cfg.hiddenSize();
        long f = cfg.intermediateSize();
        try {
            for (int i = 0; i < cfg.numLayers(); i++) {
                Device device = devices.forLayer(i);
                List<String> qkv = a == Architecture.QWEN ? List.of(a.fusedQkv(i)) : List.of(a.qProj(i), a.kProj(i), a.vProj(i));
                List<Long> qkvOuts = a == Architecture.QWEN ? List.of((long) cfg.qSize() + 2L * cfg.kvSize())
                        : List.of((long) cfg.qSize(), (long) cfg.kvSize(), (long) cfg.kvSize());
                pairs[i] = new Pair[] {
                        fused(modules, qkv, qkvOuts, d, qkvRowOrder(cfg), dtype, device),
                        fused(modules, List.of(a.attnOut(i)), List.of(d), cfg.qSize(), null, dtype, device),
                        fused(modules, List.of(a.mlpGate(i), a.mlpUp(i)), List.of(f, f), d, null, dtype, device),
                        fused(modules, List.of(a.mlpDown(i)), List.of(d), f, null, dtype, device)};
            }
        } catch (RuntimeException e) {
            new LoraWeights(name, pairs).close();
            throw e;
        }
        return new LoraWeights(name, pairs);
    }

    /** Stacked A and the scaled B of each targeted module among {@code names}; null when none is. */
    private static Pair fused(Map<String, LoraPair> modules, List<String> names, List<Long> outs, long in, long[] rowOrder,
                              ScalarType dtype, Device device) {
        int rank = 0;
        for (String n : names) {
            LoraPair p = modules.get(n);
            rank += p == null ? 0 : p.rank();
        }
        if (rank == 0) {
            return null;
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor a = torch.zeros(rank, in);
            List<Part> parts = new java.util.ArrayList<>();
            int r0 = 0;
            long o0 = 0;
            for (int k = 0; k < names.size(); k++) {
                LoraPair p = modules.get(names.get(k));
                if (p != null) {
                    a.narrow(0, r0, p.rank()).copy_(p.a());
                    Tensor b = p.b().mul(new Scalar(p.scale()));
                    if (rowOrder != null) { // this module's rows of the fused output, in the serving order
                        long[] local = new long[(int) (long) outs.get(k)];
                        for (int i = 0; i < local.length; i++) {
                            local[i] = rowOrder[(int) o0 + i] - o0;
                        }
                        b = torch.index_select(b, 0, Torch.longs(local, new Device(torch.DeviceType.CPU)));
                    }
                    Tensor bOut = b.t().to(device, dtype).contiguous();
                    bOut.retainReference();
                    parts.add(new Part(o0, r0, bOut));
                    r0 += p.rank();
                }
                o0 += outs.get(k);
            }
            Tensor aOut = a.to(device, dtype).contiguous();
            aOut.retainReference();
            return new Pair(aOut, List.copyOf(parts));
        }
    }

    /**
     * The serving q/k/v projection's row order: q and k heads in RoPE order ({@link RotaryEmbedding#headPermutation}),
     * v rows as stored (what ModelLoader applies to the weights).
     */
    static long[] qkvRowOrder(ModelConfig cfg) {
        int hd = cfg.headDim();
        int[] head = RotaryEmbedding.headPermutation(hd, cfg.rotaryDim());
        int qk = cfg.numHeads() + cfg.numKvHeads();
        long[] order = new long[cfg.qSize() + 2 * cfg.kvSize()];
        for (int r = 0; r < order.length; r++) {
            int h = r / hd;
            order[r] = h < qk ? (long) h * hd + head[r % hd] : r;
        }
        return order;
    }

    @Override
    public void close() {
        for (Pair[] layer : pairs) {
            if (layer == null) {
                continue;
            }
            for (Pair p : layer) {
                if (p != null) {
                    p.a().close();
                    p.parts().forEach(x -> x.bT().close());
                }
            }
        }
    }
}
