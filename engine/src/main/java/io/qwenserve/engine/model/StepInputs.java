package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The device tensors of one step, shared by all layers, built from a {@link ForwardBatch} once: every index (token
 * ids, positions, KV slots, gather indices, logit rows) goes into one host {@code long} buffer and every mask and
 * scale into one {@code float} buffer, each copied to the device once; the tensors below are views of the two. The
 * RoPE factors are selected from the model's table with one gather. Every tensor belongs to the {@code PointerScope}
 * open while the inputs are built (the step's).
 *
 * <p>Decode sequences (one new token) are attended together in one padded call; each prefill chunk gets its own call.
 */
final class StepInputs {
    /** A prefill chunk's attention inputs: context slots [ctx] and an additive causal mask [1, 1, n, ctx]. */
    record Prefill(int tokenStart, int queryLen, int contextLen, Tensor gather, Tensor mask) {}

    final int numTokens;
    final Tensor tokens;       // [T] long
    final Tensor slots;        // [T] long: where each new token's K/V go
    final Tensor freqs;        // [T, 1, r/2] complex64: RoPE factors of each token's position
    final Tensor logn;         // [T, 1] float, or null when every scale is 1
    // decode group
    final int numDecode;
    final int decodeStart;     // >= 0 when decode tokens are the contiguous rows decodeStart..+numDecode, else -1
    final Tensor decodeRows;   // [Bd] long when not contiguous
    final int decodeMaxContext;
    final Tensor decodeGather; // [Bd * maxCtx] long
    final Tensor decodeMask;   // [Bd, 1, 1, maxCtx] float: 0 where visible, -inf on padding
    final List<Prefill> prefills = new ArrayList<>();
    final Tensor logitRows;    // [R] long, or null when every token's logits are wanted
    final int numLogitRows;

    StepInputs(ForwardBatch batch, RotaryEmbedding rope, int blockSize, Device device) {
        {
            numTokens = batch.tokens().length;
            Layout lay = new Layout(batch);
            long[] ix = new long[lay.longs];
            float[] fl = new float[lay.floats];
            int t = numTokens;
            boolean anyLogn = false;
            int row = 0;
            int maxPosition = 0;
            double alpha = batch.seqs().isEmpty() ? 1.0 : batch.seqs().get(0).ntkAlpha();
            boolean oneAlpha = true;
            for (ForwardBatch.Slice s : batch.seqs()) {
                for (int i = 0; i < s.queryLen(); i++) {
                    int pos = s.past() + i;
                    ix[row + i] = batch.tokens()[row + i];
                    ix[t + row + i] = pos;
                    ix[2 * t + row + i] = slot(s.blockTable(), pos, blockSize);
                    float scale = (float) rope.lognScale(pos);
                    fl[row + i] = scale;
                    anyLogn |= scale != 1.0f;
                }
                maxPosition = Math.max(maxPosition, s.contextLen() - 1);
                oneAlpha &= s.ntkAlpha() == alpha;
                row += s.queryLen();
            }
            // decode group: gather indices and masks, padding positions re-read the sequence's own position 0 (written,
            // so finite) and are masked out: the pools are never initialised, and 0 * NaN would poison the sum
            int d = 0;
            int maxCtx = lay.decodeMaxContext;
            for (int s = 0, r = 0; s < batch.seqs().size(); r += batch.seqs().get(s).queryLen(), s++) {
                ForwardBatch.Slice slice = batch.seqs().get(s);
                if (slice.queryLen() != 1) {
                    continue;
                }
                ix[lay.decodeRows + d] = r;
                int base = lay.decodeGather + d * maxCtx;
                for (int p = 0; p < slice.contextLen(); p++) {
                    ix[base + p] = slot(slice.blockTable(), p, blockSize);
                }
                Arrays.fill(ix, base + slice.contextLen(), base + maxCtx, ix[base]);
                Arrays.fill(fl, lay.decodeMask + d * maxCtx + slice.contextLen(), lay.decodeMask + (d + 1) * maxCtx,
                        Float.NEGATIVE_INFINITY);
                d++;
            }
            int g = lay.prefillGather;
            int m = lay.prefillMask;
            List<int[]> prefillAt = new ArrayList<>(); // tokenStart, queryLen, contextLen, gather offset, mask offset
            for (int s = 0, r = 0; s < batch.seqs().size(); r += batch.seqs().get(s).queryLen(), s++) {
                ForwardBatch.Slice slice = batch.seqs().get(s);
                if (slice.queryLen() == 1) {
                    continue;
                }
                int ctx = slice.contextLen();
                for (int p = 0; p < ctx; p++) {
                    ix[g + p] = slot(slice.blockTable(), p, blockSize);
                }
                for (int i = 0; i < slice.queryLen(); i++) { // query i sees keys 0..past+i
                    Arrays.fill(fl, m + i * ctx + slice.past() + i + 1, m + (i + 1) * ctx, Float.NEGATIVE_INFINITY);
                }
                prefillAt.add(new int[] {r, slice.queryLen(), ctx, g, m});
                g += ctx;
                m += slice.queryLen() * ctx;
            }
            int lr = lay.logitRows;
            for (int s = 0, r = 0; s < batch.seqs().size(); r += batch.seqs().get(s).queryLen(), s++) {
                ForwardBatch.Slice slice = batch.seqs().get(s);
                switch (slice.logits()) {
                    case LAST -> ix[lr++] = r + slice.queryLen() - 1;
                    case ALL -> {
                        for (int i = 0; i < slice.queryLen(); i++) {
                            ix[lr++] = r + i;
                        }
                    }
                    case NONE -> { }
                }
            }

            Tensor ixT = Torch.longs(ix, device);
            Tensor flT = Torch.floats(fl, device, lay.floats);
            tokens = ixT.narrow(0, 0, t);
            Tensor positions = ixT.narrow(0, t, t);
            slots = ixT.narrow(0, 2L * t, t);
            logn = anyLogn ? flT.narrow(0, 0, t).view(t, 1) : null;
            freqs = oneAlpha ? torch.index_select(rope.table(alpha, maxPosition), 0, positions).unsqueeze(1)
                    : mixedAlphaFreqs(batch, rope, positions, maxPosition);

            numDecode = lay.numDecode;
            decodeMaxContext = maxCtx;
            if (numDecode > 0) {
                boolean contiguous = ix[lay.decodeRows + numDecode - 1] - ix[lay.decodeRows] == numDecode - 1;
                decodeStart = contiguous ? (int) ix[lay.decodeRows] : -1;
                decodeRows = contiguous ? null : ixT.narrow(0, lay.decodeRows, numDecode);
                decodeGather = ixT.narrow(0, lay.decodeGather, (long) numDecode * maxCtx);
                decodeMask = flT.narrow(0, lay.decodeMask, (long) numDecode * maxCtx).view(numDecode, 1, 1, maxCtx);
            } else {
                decodeStart = -1;
                decodeRows = null;
                decodeGather = null;
                decodeMask = null;
            }
            for (int[] p : prefillAt) {
                prefills.add(new Prefill(p[0], p[1], p[2], ixT.narrow(0, p[3], p[2]),
                        flT.narrow(0, p[4], (long) p[1] * p[2]).view(1, 1, p[1], p[2])));
            }
            numLogitRows = lay.numLogitRows;
            logitRows = numLogitRows == t ? null : ixT.narrow(0, lay.logitRows, numLogitRows);
        }
    }

    /** RoPE factors when a step mixes dynamic-NTK alphas (Qwen v1 beyond its training length): one gather per alpha. */
    private static Tensor mixedAlphaFreqs(ForwardBatch batch, RotaryEmbedding rope, Tensor positions, int maxPosition) {
        Tensor out = torch.empty(new long[] {positions.size(0), rope.rotaryDim() / 2},
                Torch.options(torch.ScalarType.ComplexFloat, positions.device()), null);
        int row = 0;
        for (ForwardBatch.Slice s : batch.seqs()) {
            out.narrow(0, row, s.queryLen()).copy_(torch.index_select(rope.table(s.ntkAlpha(), maxPosition), 0,
                    positions.narrow(0, row, s.queryLen())));
            row += s.queryLen();
        }
        return out.unsqueeze(1);
    }

    /** Offsets of each section in the two host buffers. */
    private static final class Layout {
        int longs;
        int floats;
        int numDecode;
        int decodeMaxContext;
        int decodeRows;
        int decodeGather;
        int prefillGather;
        int logitRows;
        int numLogitRows;
        int decodeMask;
        int prefillMask;

        Layout(ForwardBatch batch) {
            int t = batch.tokens().length;
            int prefillCtx = 0;
            long prefillMaskSize = 0;
            for (ForwardBatch.Slice s : batch.seqs()) {
                if (s.queryLen() == 1) {
                    numDecode++;
                    decodeMaxContext = Math.max(decodeMaxContext, s.contextLen());
                } else {
                    prefillCtx += s.contextLen();
                    prefillMaskSize += (long) s.queryLen() * s.contextLen();
                }
                numLogitRows += s.logitRows();
            }
            decodeRows = 3 * t;                                   // tokens, positions, slots come first
            decodeGather = decodeRows + numDecode;
            prefillGather = decodeGather + numDecode * decodeMaxContext;
            logitRows = prefillGather + prefillCtx;
            longs = logitRows + numLogitRows;
            decodeMask = t;                                       // logN scales come first
            prefillMask = decodeMask + numDecode * decodeMaxContext;
            floats = Math.toIntExact(prefillMask + prefillMaskSize);
        }
    }

    static long slot(int[] blockTable, int position, int blockSize) {
        return (long) blockTable[position / blockSize] * blockSize + position % blockSize;
    }
}
