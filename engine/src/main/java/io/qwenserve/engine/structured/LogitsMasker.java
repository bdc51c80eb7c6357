package io.qwenserve.engine.structured;

import io.qwenserve.engine.model.Torch;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * Applies token masks to a batch of logits: in each constrained row, every id the mask does not allow becomes
 * -infinity (end ids count as allowed where the output is complete). Unconstrained rows are not touched. One
 * owner (the engine loop): the host buffer is reused between steps.
 */
public final class LogitsMasker {
    /** A constrained row of the batch. */
    public record Row(int index, TokenMask mask, int[] endIds) {}

    private boolean[] disallowed = new boolean[0];

    /** Masks {@code rows} of {@code logits} [B, V] in place. */
    public void apply(Tensor logits, List<Row> rows) {
        if (rows.isEmpty()) {
            return;
        }
        int v = (int) logits.size(1);
        if (disallowed.length != v) {
            disallowed = new boolean[v];
        }
        try (Scalar minusInf = new Scalar(Double.NEGATIVE_INFINITY)) {
            for (Row r : rows) {
                fill(r, v);
                try (Tensor m = Torch.bools(disallowed, logits.device(), v); Tensor row = logits.select(0, r.index())) {
                    row.masked_fill_(m, minusInf);
                }
            }
        }
    }

    private void fill(Row r, int v) {
        Arrays.fill(disallowed, true);
        r.mask().forEachAllowed(id -> {
            if (id < v) {
                disallowed[id] = false;
            }
        });
        if (r.mask().endAllowed()) {
            for (int id : r.endIds()) {
                if (id >= 0 && id < v) {
                    disallowed[id] = false;
                }
            }
        }
    }
}
