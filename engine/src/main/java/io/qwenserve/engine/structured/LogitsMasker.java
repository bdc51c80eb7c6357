package io.qwenserve.engine.structured;

import io.qwenserve.engine.model.Torch;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * Applies token masks to a batch of logits: in each constrained row, every id the mask does not allow becomes
 * -infinity (end ids count as allowed where the output is complete). Unconstrained rows are not touched. Each mask
 * is applied through its shorter id list ({@link TokenMask#applyIds()}): a narrow mask keeps its allowed ids and
 * fills the rest of its row, a wide one (inside a string) fills its few disallowed ids. All rows of a step together
 * take at most five tensor operations over flat indices.
 */
public final class LogitsMasker {
    /** A constrained row of the batch. */
    public record Row(int index, TokenMask mask, int[] endIds) {}

    private long[] drop = new long[1024], keep = new long[1024], ends = new long[16], keepRows = new long[16];
    private int nDrop, nKeep, nEnds, nKeepRows;

    /** Masks {@code rows} of {@code logits} [B, V] (contiguous) in place. */
    public void apply(Tensor logits, List<Row> rows) {
        if (rows.isEmpty()) {
            return;
        }
        long v = logits.size(1);
        nDrop = nKeep = nEnds = nKeepRows = 0;
        for (Row r : rows) {
            TokenMask m = r.mask();
            long base = r.index() * v;
            int[] endIds = m.endAllowed() ? r.endIds() : new int[0];
            if (m.appliesAllowed()) {
                keepRows = push(keepRows, nKeepRows++, r.index());
                for (long id : m.applyIds()) {
                    keep = push(keep, nKeep++, base + id);
                }
                for (int id : endIds) {
                    keep = push(keep, nKeep++, base + id);
                }
            } else {
                for (long id : m.applyIds()) {
                    drop = push(drop, nDrop++, base + id);
                }
                for (long id = m.vocabSize(); id < v; id++) {
                    drop = push(drop, nDrop++, base + id);
                }
                for (int id : endIds) {
                    ends = push(ends, nEnds++, base + id);
                }
            }
        }
        try (Scalar minusInf = new Scalar(Double.NEGATIVE_INFINITY); Tensor flat = logits.view(-1)) {
            Tensor endIdx = nEnds == 0 ? null : Torch.longs(java.util.Arrays.copyOf(ends, nEnds), logits.device());
            Tensor keepIdx = nKeep == 0 ? null : Torch.longs(java.util.Arrays.copyOf(keep, nKeep), logits.device());
            Tensor endVals = endIdx == null ? null : flat.index_select(0, endIdx);
            Tensor keepVals = keepIdx == null ? null : flat.index_select(0, keepIdx);
            if (nDrop > 0) {
                try (Tensor dropIdx = Torch.longs(java.util.Arrays.copyOf(drop, nDrop), logits.device())) {
                    flat.index_fill_(0, dropIdx, minusInf);
                }
            }
            if (nKeepRows > 0) {
                try (Tensor rowIdx = Torch.longs(java.util.Arrays.copyOf(keepRows, nKeepRows), logits.device())) {
                    logits.index_fill_(0, rowIdx, minusInf);
                }
            }
            if (keepIdx != null) {
                flat.index_copy_(0, keepIdx, keepVals);
                keepIdx.close();
                keepVals.close();
            }
            if (endIdx != null) {
                flat.index_copy_(0, endIdx, endVals);
                endIdx.close();
                endVals.close();
            }
        }
    }

    private static long[] push(long[] a, int i, long v) {
        if (i == a.length) {
            a = java.util.Arrays.copyOf(a, a.length * 2);
        }
        a[i] = v;
        return a;
    }
}
