package io.qwenserve.engine.lora;

import io.qwenserve.engine.train.TensorIO;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The LoRA updates of one step, applied per row: each token row gets the update of its sequence's adapter (none for
 * the base), {@code y[rows] += (x[rows] A^T) B^T}, so requests for different adapters and for the base share one
 * batch and the base weights are never merged. Rows of one adapter are addressed as contiguous ranges (the model
 * runner orders sequences by adapter), so applying an adapter is a few views, one small product per range and one in-place addmm per module.
 */
public final class LoraStep {
    /** Rows [start, start + length) of the step's tokens. */
    private record Range(int start, int length) {}

    private final Map<LoraWeights, List<Range>> ranges;

    private LoraStep(Map<LoraWeights, List<Range>> ranges) {
        this.ranges = ranges;
    }

    /**
     * The step's updates, or null when no sequence uses an adapter.
     *
     * @param queryLens new tokens of each sequence, in batch order
     * @param adapters  each sequence's adapter (null for the base), in batch order
     */
    public static LoraStep of(int[] queryLens, List<LoraWeights> adapters) {
        Map<LoraWeights, List<Range>> ranges = new IdentityHashMap<>();
        int row = 0;
        for (int s = 0; s < queryLens.length; s++) {
            LoraWeights w = adapters.get(s);
            if (w != null) {
                List<Range> list = ranges.computeIfAbsent(w, k -> new ArrayList<>());
                Range last = list.isEmpty() ? null : list.get(list.size() - 1);
                if (last != null && last.start() + last.length() == row) {
                    list.set(list.size() - 1, new Range(last.start(), last.length() + queryLens[s]));
                } else {
                    list.add(new Range(row, queryLens[s]));
                }
            }
            row += queryLens[s];
        }
        return ranges.isEmpty() ? null : new LoraStep(ranges);
    }

    /** Adds each row's LoRA update of {@code target} in {@code layer} to {@code y} [T, out], from its input {@code x} [T, in]. */
    public void apply(int layer, LoraWeights.Target target, Tensor x, Tensor y) {
        for (Map.Entry<LoraWeights, List<Range>> e : ranges.entrySet()) {
            LoraWeights.Pair p = e.getKey().pair(layer, target);
            if (p == null) {
                continue;
            }
            for (Range r : e.getValue()) {
                boolean all = r.start() == 0 && r.length() == x.size(0);
                Tensor xs = all ? x : x.narrow(0, r.start(), r.length());
                Tensor ys = all ? y : y.narrow(0, r.start(), r.length());
                Tensor z = torch.linear(xs, p.a()); // [n, R]: every module of the fused linear at once
                for (LoraWeights.Part part : p.parts()) {
                    long rLen = part.bT().size(0);
                    long outLen = part.bT().size(1);
                    Tensor zs = rLen == z.size(1) ? z : z.narrow(1, part.rStart(), rLen);
                    Tensor cols = outLen == ys.size(1) ? ys : ys.narrow(1, part.outStart(), outLen);
                    if (TensorIO.sameType(cols.scalar_type(), zs.scalar_type())) {
                        cols.addmm_(zs, part.bT()); // cols += zs B^T in place: no temporary, one op
                    } else { // a kernel whose output is not the compute dtype
                        cols.add_(torch.mm(zs, part.bT()).to(cols.scalar_type()));
                    }
                }
            }
        }
    }

    /** Distinct adapters in the step. */
    public int adapters() {
        return ranges.size();
    }
}
