package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;

/**
 * The device tensors of one step, built once from a {@link ForwardBatch} on the host and shared by all layers: token
 * ids, RoPE tables, KV slot mapping, and the gather indices and masks attention reads the paged cache with.
 *
 * <p>Decode sequences (one new token) are attended together in one padded call; each prefill chunk gets its own call.
 * Query heads are grouped per KV head ({@code [kvHeads, group * queryLen, headDim]}), so GQA never copies K/V.
 */
final class StepInputs implements AutoCloseable {
    /** A prefill chunk's attention inputs. */
    record Prefill(int tokenStart, int queryLen, int contextLen, Tensor gather, Tensor mask) {}

    final int numTokens;
    final Tensor tokens;    // [T] long
    final Tensor cos;       // [T, 1, r/2] float
    final Tensor sin;       // [T, 1, r/2] float
    final Tensor logn;      // [T, 1, 1] float, or null when every scale is 1
    final Tensor slots;     // [T] long: where each new token's K/V go
    // decode group
    final int numDecode;
    final int decodeStart;  // >= 0 when decode tokens are the contiguous rows decodeStart..+numDecode, else -1
    final Tensor decodeRows; // [Bd] long when not contiguous
    final int decodeMaxContext;
    final Tensor decodeGather; // [Bd * maxCtx] long
    final Tensor decodeMask;   // [Bd, 1, 1, maxCtx] bool
    final List<Prefill> prefills = new ArrayList<>();
    final Tensor logitRows;    // [R] long, or null when every token's logits are wanted
    final int numLogitRows;

    private final List<Tensor> owned = new ArrayList<>();

    StepInputs(ForwardBatch batch, RotaryEmbedding rope, int blockSize, int groupSize, Device device) {
        int t = batch.tokens().length;
        numTokens = t;
        int half = rope.rotaryDim() / 2;
        float[] cosH = new float[t * half];
        float[] sinH = new float[t * half];
        float[] lognH = new float[t];
        long[] slotH = new long[t];
        boolean anyLogn = false;
        List<Integer> decodeSeq = new ArrayList<>();
        List<Integer> decodeTok = new ArrayList<>();
        List<Long> logitRowList = new ArrayList<>();
        int row = 0;
        int maxCtx = 0;
        for (int s = 0; s < batch.seqs().size(); s++) {
            ForwardBatch.Slice slice = batch.seqs().get(s);
            for (int i = 0; i < slice.queryLen(); i++) {
                int pos = slice.past() + i;
                rope.fill(pos, slice.ntkAlpha(), cosH, sinH, (row + i) * half);
                lognH[row + i] = (float) rope.lognScale(pos);
                anyLogn |= lognH[row + i] != 1.0f;
                slotH[row + i] = slot(slice.blockTable(), pos, blockSize);
            }
            switch (slice.logits()) {
                case LAST -> logitRowList.add((long) row + slice.queryLen() - 1);
                case ALL -> {
                    for (int i = 0; i < slice.queryLen(); i++) {
                        logitRowList.add((long) row + i);
                    }
                }
                case NONE -> { }
            }
            if (slice.queryLen() == 1) {
                decodeSeq.add(s);
                decodeTok.add(row);
                maxCtx = Math.max(maxCtx, slice.contextLen());
            } else {
                prefills.add(buildPrefill(slice, row, blockSize, groupSize, device));
            }
            row += slice.queryLen();
        }
        tokens = own(Torch.longs(batch.tokens(), device));
        cos = own(Torch.floats(cosH, device, t, 1, half));
        sin = own(Torch.floats(sinH, device, t, 1, half));
        logn = anyLogn ? own(Torch.floats(lognH, device, t, 1, 1)) : null;
        slots = own(Torch.longs(slotH, device));

        numDecode = decodeSeq.size();
        decodeMaxContext = maxCtx;
        if (numDecode > 0) {
            boolean contiguous = decodeTok.get(numDecode - 1) - decodeTok.get(0) == numDecode - 1;
            decodeStart = contiguous ? decodeTok.get(0) : -1;
            decodeRows = contiguous ? null : own(Torch.longs(decodeTok.stream().mapToInt(Integer::intValue).toArray(), device));
            long[] gather = new long[numDecode * maxCtx];
            boolean[] mask = new boolean[numDecode * maxCtx];
            for (int d = 0; d < numDecode; d++) {
                ForwardBatch.Slice slice = batch.seqs().get(decodeSeq.get(d));
                for (int p = 0; p < slice.contextLen(); p++) {
                    gather[d * maxCtx + p] = slot(slice.blockTable(), p, blockSize);
                    mask[d * maxCtx + p] = true;
                }
                // padding positions re-read the sequence's own position 0 (written, so finite) and are masked out;
                // the pools are never initialised, so any other slot could hold NaN, and 0 * NaN poisons the sum
                java.util.Arrays.fill(gather, d * maxCtx + slice.contextLen(), (d + 1) * maxCtx, gather[d * maxCtx]);
            }
            decodeGather = own(Torch.longs(gather, device));
            decodeMask = own(Torch.bools(mask, device, numDecode, 1, 1, maxCtx));
        } else {
            decodeStart = -1;
            decodeRows = null;
            decodeGather = null;
            decodeMask = null;
        }
        numLogitRows = logitRowList.size();
        if (numLogitRows == t) {
            logitRows = null;
        } else {
            long[] rows = new long[numLogitRows];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = logitRowList.get(i);
            }
            logitRows = own(Torch.longs(rows, device));
        }
    }

    private Prefill buildPrefill(ForwardBatch.Slice slice, int row, int blockSize, int groupSize, Device device) {
        int ctx = slice.contextLen();
        int q = slice.queryLen();
        long[] gather = new long[ctx];
        for (int p = 0; p < ctx; p++) {
            gather[p] = slot(slice.blockTable(), p, blockSize);
        }
        // rows are (group member j, query i) -> j * q + i; query i sees keys 0..past+i
        boolean[] mask = new boolean[groupSize * q * ctx];
        for (int j = 0; j < groupSize; j++) {
            for (int i = 0; i < q; i++) {
                int base = (j * q + i) * ctx;
                int visible = slice.past() + i + 1;
                java.util.Arrays.fill(mask, base, base + visible, true);
            }
        }
        return new Prefill(row, q, ctx, own(Torch.longs(gather, device)),
                own(Torch.bools(mask, device, 1, 1, (long) groupSize * q, ctx)));
    }

    static long slot(int[] blockTable, int position, int blockSize) {
        return (long) blockTable[position / blockSize] * blockSize + position % blockSize;
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
        owned.clear();
    }
}
