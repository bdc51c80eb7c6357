package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The device tensors of one step, shared by all layers, built from a {@link ForwardBatch} once: every index (token
 * ids, positions, KV slots, gather indices, logit rows) and every mask and scale go into the step's one host buffer
 * ({@link StepBuffer}, which also carries the sampler's inputs), copied to the device once; the tensors below are views
 * of it. The RoPE factors are selected from the model's table on the device with one gather. Every tensor belongs to
 * the {@code PointerScope} open while the inputs are built (the step's).
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

    /**
     * A step packed into a {@link StepBuffer} (host side): the offsets of its index and float sections and what the
     * views need to know.
     */
    record Packed(ForwardBatch batch, Layout lay, int ix, int fl, boolean anyLogn, boolean oneAlpha, double alpha,
                  int maxPosition, int decodeStart, List<int[]> prefillAt) {}

    /**
     * Packs the step's indices (token ids, positions, KV slots, gather indices, logit rows) and floats (logN scales,
     * masks) into {@code buf}.
     */
    static Packed pack(ForwardBatch batch, RotaryEmbedding rope, int blockSize, StepBuffer buf) {
        int t = batch.tokens().length;
        Layout lay = new Layout(batch);
        long[] ix = new long[lay.longs];
        float[] fl = new float[lay.floats];
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
        int decodeStart = -1;
        if (lay.numDecode > 0 && ix[lay.decodeRows + lay.numDecode - 1] - ix[lay.decodeRows] == lay.numDecode - 1) {
            decodeStart = (int) ix[lay.decodeRows];
        }
        return new Packed(batch, lay, buf.put(ix), buf.put(fl), anyLogn, oneAlpha, alpha, maxPosition, decodeStart, prefillAt);
    }

    /** The views of a packed step on {@code device}, where {@code buf} has been uploaded. */
    StepInputs(Packed p, StepBuffer buf, RotaryEmbedding rope, Device device) {
        Layout lay = p.lay();
        int t = p.batch().tokens().length;
        numTokens = t;
        Tensor ixT = buf.longs(device, p.ix(), Math.max(1, lay.longs));
        Tensor flT = buf.floats(device, p.fl(), Math.max(1, lay.floats));
        tokens = ixT.narrow(0, 0, t);
        Tensor positions = ixT.narrow(0, t, t);
        slots = ixT.narrow(0, 2L * t, t);
        logn = p.anyLogn() ? flT.narrow(0, 0, t).view(t, 1) : null;
        freqs = p.oneAlpha() ? torch.index_select(rope.table(p.alpha(), p.maxPosition()), 0, positions).unsqueeze(1)
                : mixedAlphaFreqs(p.batch(), rope, positions, p.maxPosition());

        numDecode = lay.numDecode;
        decodeMaxContext = lay.decodeMaxContext;
        if (numDecode > 0) {
            decodeStart = p.decodeStart();
            decodeRows = decodeStart >= 0 ? null : ixT.narrow(0, lay.decodeRows, numDecode);
            decodeGather = ixT.narrow(0, lay.decodeGather, (long) numDecode * decodeMaxContext);
            decodeMask = flT.narrow(0, lay.decodeMask, (long) numDecode * decodeMaxContext)
                    .view(numDecode, 1, 1, decodeMaxContext);
        } else {
            decodeStart = -1;
            decodeRows = null;
            decodeGather = null;
            decodeMask = null;
        }
        for (int[] q : p.prefillAt()) {
            prefills.add(new Prefill(q[0], q[1], q[2], ixT.narrow(0, q[3], q[2]),
                    flT.narrow(0, q[4], (long) q[1] * q[2]).view(1, 1, q[1], q[2])));
        }
        numLogitRows = lay.numLogitRows;
        logitRows = numLogitRows == t ? null : ixT.narrow(0, lay.logitRows, numLogitRows);
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

    /** Offsets of each part of the index and float sections. */
    static final class Layout {
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
