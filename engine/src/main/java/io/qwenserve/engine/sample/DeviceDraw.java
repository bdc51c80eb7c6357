package io.qwenserve.engine.sample;

import io.qwenserve.engine.model.Torch;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The draws of a batch's sampled rows, as batched tensor operations on the logits' device: nothing leaves the device.
 * Each row draws by inverse CDF with its own uniform {@code u} (from its request's random stream), probabilities in
 * float64.
 *
 * <ul>
 *   <li>{@link #truncated}: rows with top-k or top-p. Every row's {@code K} most likely ids (one {@code topk}); a top-k
 *   row renormalises over its first {@code k}, a top-p-only row keeps the full distribution's probabilities; then the
 *   smallest prefix whose mass reaches {@code p} (Hugging Face's order: temperature, top-k, top-p) is drawn from.</li>
 *   <li>{@link #full}: rows with neither, over the whole vocabulary in id order.</li>
 * </ul>
 */
final class DeviceDraw {
    /** Columns of a truncated row's parameters. */
    static final int T = 0, K = 1, P = 2, U = 3, HAS_K = 4, CHECK_FIT = 5, TRUNCATED_COLUMNS = 6;
    /** Columns of a full row's parameters. */
    static final int FULL_T = 0, FULL_U = 1, FULL_COLUMNS = 2;

    private DeviceDraw() {}

    /**
     * @param logits [B, V] float32 (penalised and masked)
     * @param rows   [Ba] long: the truncated rows
     * @param params [Ba, 6] float64: temperature, k (1..candidates), p (2 when top-p is off), u, has top-k (1/0), check
     *               that the candidates hold the nucleus (1/0)
     * @param candidates ids considered per row, at least every row's k
     * @param f          what the host knows of the rows ({@link Truncation}), which spares operations that would change
     *                   nothing
     * @return the drawn ids [Ba] long, and (with {@code checkFit}, else null) [Ba] bool: a top-p row whose nucleus is
     *         larger than the candidates (its id must be drawn again over the whole vocabulary)
     */
    static Tensor[] truncated(Tensor logits, Tensor rows, Tensor params, int candidates, Truncation f) {
        Tensor x = f.inPlace() ? logits : torch.index_select(logits, 0, rows);
        x.div_(params.narrow(1, T, 1).to(ScalarType.Float));
        T_TensorTensor_T top = torch.topk(x, candidates, 1, true, true);
        Tensor vals = top.get0().to(ScalarType.Double);                           // [Ba, K] descending
        Tensor ids = top.get1();
        Tensor valsK = vals;
        if (f.cutAtK()) { // some row's k is below the candidates: -inf past it
            Tensor position = torch.arange(new Scalar(candidates), Torch.options(ScalarType.Double, logits.device())).unsqueeze(0);
            valsK = vals.masked_fill(position.ge(params.narrow(1, K, 1)), new Scalar(Double.NEGATIVE_INFINITY));
        }
        Tensor zK = torch.logsumexp(valsK, new long[] {1}, true);
        Tensor z = !f.fullMass() ? zK : torch.where(params.narrow(1, HAS_K, 1).gt(new Scalar(0.5)), zK,
                torch.logsumexp(x, new long[] {1}, true).to(ScalarType.Double)); // the full distribution's
        Tensor probs = valsK.sub(z).exp();                                        // 0 past the top-k
        Tensor cum = probs.cumsum(1);
        // keep an id while the mass before it is below p (the first id always); probs are 0 past the top-k
        Tensor kept = f.anyTopP() ? probs.mul(cum.sub(probs).lt(params.narrow(1, P, 1))) : probs;
        Tensor cumKept = f.anyTopP() ? kept.cumsum(1) : cum;
        Tensor target = params.narrow(1, U, 1).mul(cumKept.narrow(1, candidates - 1, 1));
        Tensor choice = cumKept.le(target).sum(new long[] {1}, true, new ScalarTypeOptional(ScalarType.Long));
        Tensor positive = kept.gt(new Scalar(0.0)).sum(new long[] {1}, true, new ScalarTypeOptional(ScalarType.Long));
        choice = torch.minimum(choice, positive.sub(new Scalar(1)).clamp_min(new Scalar(0)));
        Tensor drawn = torch.gather(ids, 1, choice).squeeze(1);
        Tensor beyond = !f.checkFit() ? null : params.narrow(1, CHECK_FIT, 1).gt(new Scalar(0.5))
                .logical_and(cum.narrow(1, candidates - 1, 1).lt(params.narrow(1, P, 1))).squeeze(1);
        return new Tensor[] {drawn, beyond};
    }

    /**
     * What the host knows of a truncated draw's rows.
     *
     * @param inPlace  the rows are the whole batch in order: the logits are divided by the temperatures in place
     * @param fullMass some row has top-p without top-k (its probabilities are the full distribution's); else every row
     *                 renormalises over its top-k and the full distribution's normaliser is not computed
     * @param cutAtK   some row's k is below the candidates
     * @param anyTopP  some row has top-p
     * @param checkFit whether to tell the rows whose nucleus is larger than the candidates
     */
    record Truncation(boolean inPlace, boolean fullMass, boolean cutAtK, boolean anyTopP, boolean checkFit) {}

    /**
     * Inverse CDF over the whole vocabulary in two levels, so that no cumulative sum runs over all {@code V} ids: the
     * mass of each block of ids, the block the draw falls in, then the id within that block. Works in place on
     * {@code logits} when {@code rows} is the whole batch in order ({@code inPlace}).
     *
     * @param logits [B, V] float32 (penalised and masked; read, or overwritten when {@code inPlace})
     * @param rows   [Bb] long: rows with neither top-k nor top-p
     * @param params [Bb, 2] float64: temperature, u
     * @param argmax [B] long: each row's most likely id (where rounding leaves the draw nowhere)
     * @return the drawn ids [Bb] long
     */
    static Tensor full(Tensor logits, Tensor rows, Tensor params, Tensor argmax, boolean inPlace) {
        long v = logits.size(1);
        long n = rows.size(0);
        long block = blockFor(v);
        long blocks = (v + block - 1) / block;
        Tensor x = inPlace ? logits : torch.index_select(logits, 0, rows);
        x.div_(params.narrow(1, FULL_T, 1).to(ScalarType.Float));
        // unnormalised probabilities: the draw only needs proportions
        Tensor weights = x.sub_(torch.amax(x, new long[] {1}, true)).exp_();
        if (blocks * block != v) {
            Tensor padded = torch.zeros(new long[] {n, blocks * block}, Torch.options(ScalarType.Float, logits.device()));
            padded.narrow(1, 0, v).copy_(weights);
            weights = padded;
        }
        Tensor byBlock = weights.view(n, blocks, block);
        Tensor cumBlocks = byBlock.sum(new long[] {2}, false, new ScalarTypeOptional(ScalarType.Double)).cumsum(1); // [Bb, blocks]
        Tensor target = params.narrow(1, FULL_U, 1).mul(cumBlocks.narrow(1, blocks - 1, 1));
        Tensor chosen = cumBlocks.le(target).sum(new long[] {1}, true, new ScalarTypeOptional(ScalarType.Long))
                .clamp_max(new Scalar(blocks - 1));                                                      // [Bb, 1]
        Tensor before = torch.where(chosen.gt(new Scalar(0)),
                torch.gather(cumBlocks, 1, chosen.sub(new Scalar(1)).clamp_min(new Scalar(0))),
                torch.zeros(new long[] {n, 1}, Torch.options(ScalarType.Double, logits.device())));
        Tensor inBlock = torch.gather(byBlock, 1, chosen.unsqueeze(2).expand(n, 1, block)).squeeze(1);  // [Bb, block]
        Tensor within = inBlock.to(ScalarType.Double).cumsum(1).add(before).le(target)
                .sum(new long[] {1}, true, new ScalarTypeOptional(ScalarType.Long)).clamp_max(new Scalar(block - 1));
        Tensor choice = chosen.mul(new Scalar(block)).add(within).clamp_max(new Scalar(v - 1));
        // rounding could land past the last likely id: take the most likely one there (never an id of probability 0)
        Tensor likely = torch.gather(weights, 1, choice).gt(new Scalar(0.0)).squeeze(1);
        return torch.where(likely, choice.squeeze(1), inPlace ? argmax : torch.index_select(argmax, 0, rows));
    }

    /**
     * A block size for {@code v} ids: the smallest divisor of {@code v} from about its square root (at least 256) up to
     * 4096, so that neither level is long and nothing is padded; 1024 (padded) when there is none.
     */
    static long blockFor(long v) {
        for (long b = Math.max(256, (long) Math.sqrt(v)); b <= 4096 && b < v; b++) {
            if (v % b == 0) {
                return b;
            }
        }
        return Math.min(v, 1024);
    }
}
