package io.qwenserve.engine.structured;

import io.qwenserve.engine.model.StepBuffer;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * Applies token masks to a batch of logits: in each constrained row, every id the mask does not allow becomes
 * -infinity (end ids count as allowed where the output is complete). Unconstrained rows are not touched. Each mask
 * is applied through its shorter id list ({@link TokenMask#applyIds()}): a narrow mask keeps its allowed ids and
 * fills the rest of its row, a wide one (inside a string) fills its few disallowed ids. All rows of a step together
 * take at most five tensor operations over flat indices, whose index lists travel in the step's one host-to-device copy
 * ({@link StepBuffer}).
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
        try (PointerScope scope = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            Packed p = pack(rows, logits.size(1), buf);
            buf.upload(logits.device());
            apply(logits, p, buf);
        }
    }

    /** The index lists of a step's masks, packed into its {@link StepBuffer}: offsets and lengths. */
    public record Packed(int drop, int nDrop, int keep, int nKeep, int ends, int nEnds, int keepRows, int nKeepRows) {}

    /**
     * Host side: the flat indices of {@code rows} over a [B, {@code v}] batch, into {@code buf}, which must be uploaded
     * before this masker packs again (the lists are this masker's, read at the upload).
     */
    public Packed pack(List<Row> rows, long v, StepBuffer buf) {
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
        // the lists are read at the buffer's upload, before this masker packs again
        return new Packed(buf.put(drop, nDrop), nDrop, buf.put(keep, nKeep), nKeep, buf.put(ends, nEnds), nEnds,
                buf.put(keepRows, nKeepRows), nKeepRows);
    }

    /** Device side: masks {@code logits} [B, V] in place with the packed lists ({@code buf} uploaded to its device). */
    public void apply(Tensor logits, Packed p, StepBuffer buf) {
        Device d = logits.device();
        try (Scalar minusInf = new Scalar(Double.NEGATIVE_INFINITY); Tensor flat = logits.view(-1)) {
            Tensor endIdx = p.nEnds() == 0 ? null : buf.longs(d, p.ends(), p.nEnds());
            Tensor keepIdx = p.nKeep() == 0 ? null : buf.longs(d, p.keep(), p.nKeep());
            Tensor endVals = endIdx == null ? null : flat.index_select(0, endIdx);
            Tensor keepVals = keepIdx == null ? null : flat.index_select(0, keepIdx);
            if (p.nDrop() > 0) {
                flat.index_fill_(0, buf.longs(d, p.drop(), p.nDrop()), minusInf);
            }
            if (p.nKeepRows() > 0) {
                logits.index_fill_(0, buf.longs(d, p.keepRows(), p.nKeepRows()), minusInf);
            }
            if (keepIdx != null) {
                flat.index_copy_(0, keepIdx, keepVals);
            }
            if (endIdx != null) {
                flat.index_copy_(0, endIdx, endVals);
            }
        }
    }

    private static long[] push(long[] a, int i, long v) {
        if (i == a.length) {
            a = Arrays.copyOf(a, a.length * 2);
        }
        a[i] = v;
        return a;
    }
}
