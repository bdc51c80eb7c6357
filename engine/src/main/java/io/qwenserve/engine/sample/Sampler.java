package io.qwenserve.engine.sample;

import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.structured.LogitsMasker;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Picks one token per row of a logits batch, each row with its own parameters.
 *
 * <p>Order per row, as Hugging Face applies it: padding ids masked, the response format's mask (constrained rows
 * only), repetition penalty (prompt and output ids),
 * presence/frequency penalties (output ids), temperature, top-k, top-p, then a draw from the row's own random stream.
 * Penalties for the whole batch are two scatter operations; greedy rows share one argmax. For sampled rows only the
 * candidates leave the device: the top-k, or for top-p alone the 256 most likely ids when they already hold the
 * nucleus (a full sort otherwise). Log probabilities are those of the raw model distribution (before the mask).
 */
public final class Sampler {
    private static final int NUCLEUS_CANDIDATES = 256;

    private final int validVocab;
    private final LogitsMasker masker = new LogitsMasker();

    /** @param validVocab ids at or above this (embedding padding rows) are never sampled */
    public Sampler(int validVocab) {
        this.validVocab = validVocab;
    }

    /** Samples row i of {@code logits} [B, V] (float32, modified in place) with {@code rows.get(i)}. */
    public SampleResult[] sample(Tensor logits, List<SamplingRow> rows) {
        int b = rows.size();
        long v = logits.size(1);
        SampleResult[] out = new SampleResult[b];
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            if (validVocab < v) {
                logits.narrow(1, validVocab, v - validVocab).fill_(new Scalar(Double.NEGATIVE_INFINITY));
            }
            boolean anyLogprobs = rows.stream().anyMatch(r -> r.params().logprobs() > 0);
            Tensor logprobs = anyLogprobs ? torch.log_softmax(logits, 1) : null;
            applyMasks(logits, rows);
            applyPenalties(logits, rows, v);

            int[] tokens = new int[b];
            List<Integer> greedyRows = new ArrayList<>();
            for (int i = 0; i < b; i++) {
                if (rows.get(i).params().greedy()) {
                    greedyRows.add(i);
                }
            }
            if (!greedyRows.isEmpty()) {
                Tensor rowsT = greedyRows.size() == b ? logits
                        : torch.index_select(logits, 0, Torch.longs(greedyRows.stream().mapToInt(Integer::intValue).toArray(), logits.device()));
                int[] argmax = Torch.toInts(torch.argmax(rowsT, new org.bytedeco.pytorch.LongOptional(1), false));
                for (int j = 0; j < argmax.length; j++) {
                    tokens[greedyRows.get(j)] = argmax[j];
                }
            }
            for (int i = 0; i < b; i++) {
                SamplingRow row = rows.get(i);
                if (!row.params().greedy()) {
                    tokens[i] = sampleRow(logits.select(0, i), row.params(), row.uniform());
                }
            }
            for (int i = 0; i < b; i++) {
                int n = rows.get(i).params().logprobs();
                if (n == 0) {
                    out[i] = SampleResult.of(tokens[i]);
                    continue;
                }
                Tensor lp = logprobs.select(0, i);
                T_TensorTensor_T top = torch.topk(lp, n, 0, true, true);
                out[i] = new SampleResult(tokens[i], lp.get(tokens[i]).item_float(), Torch.toInts(top.get1()), Torch.toFloats(top.get0()));
            }
        }
        return out;
    }

    /** Rows with a response format: tokens it does not allow next become -inf (free rows are not touched). */
    private void applyMasks(Tensor logits, List<SamplingRow> rows) {
        List<LogitsMasker.Row> masked = null;
        for (int i = 0; i < rows.size(); i++) {
            SamplingRow r = rows.get(i);
            if (r.mask() != null) {
                if (masked == null) {
                    masked = new ArrayList<>();
                }
                masked.add(new LogitsMasker.Row(i, r.mask(), r.endIds()));
            }
        }
        if (masked != null) {
            masker.apply(logits, masked);
        }
    }

    private void applyPenalties(Tensor logits, List<SamplingRow> rows, long v) {
        List<Long> repIdx = new ArrayList<>();
        List<Float> repFactor = new ArrayList<>();
        List<Long> addIdx = new ArrayList<>();
        List<Float> addDelta = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            SamplingRow row = rows.get(i);
            SamplingParams p = row.params();
            for (int id : row.repetitionIds()) {
                repIdx.add(i * v + id);
                repFactor.add((float) p.repetitionPenalty());
            }
            for (int j = 0; j < row.outputIds().length; j++) {
                addIdx.add(i * v + row.outputIds()[j]);
                addDelta.add((float) -(p.presencePenalty() + p.frequencyPenalty() * row.outputCounts()[j]));
            }
        }
        if (repIdx.isEmpty() && addIdx.isEmpty()) {
            return;
        }
        Device device = logits.device();
        Tensor flat = logits.view(-1);
        if (!repIdx.isEmpty()) {
            Tensor idx = Torch.longs(toLongs(repIdx), device);
            Tensor f = Torch.floats(toFloats(repFactor), device, repFactor.size());
            Tensor vals = torch.index_select(flat, 0, idx);
            // positive logits are divided by the penalty, negative ones multiplied (Hugging Face)
            flat.index_copy_(0, idx, torch.where(vals.gt(new Scalar(0.0)), vals.div(f), vals.mul(f)));
        }
        if (!addIdx.isEmpty()) {
            flat.index_add_(0, Torch.longs(toLongs(addIdx), device), Torch.floats(toFloats(addDelta), device, addDelta.size()));
        }
    }

    private int sampleRow(Tensor row, SamplingParams p, double u) {
        Tensor scaled = p.temperature() == 1 ? row : row.div(new Scalar(p.temperature()));
        if (p.topK() > 0) {
            T_TensorTensor_T top = torch.topk(scaled, Math.min(p.topK(), validVocab), 0, true, true);
            return pick(Torch.toFloats(top.get0()), Torch.toInts(top.get1()), p.topP(), u, Double.NaN);
        }
        if (p.topP() < 1) {
            double lse = torch.logsumexp(scaled, 0).item_float();
            T_TensorTensor_T top = torch.topk(scaled, Math.min(NUCLEUS_CANDIDATES, validVocab), 0, true, true);
            float[] vals = Torch.toFloats(top.get0());
            double mass = 0;
            for (float x : vals) {
                mass += Math.exp(x - lse);
            }
            if (mass >= p.topP()) {
                return pick(vals, Torch.toInts(top.get1()), p.topP(), u, lse);
            }
            T_TensorTensor_T sorted = torch.sort(scaled, 0, true);
            return pick(Torch.toFloats(sorted.get0()), Torch.toInts(sorted.get1()), p.topP(), u, lse);
        }
        // no truncation: inverse CDF over the whole distribution, in id order
        float[] probs = Torch.toFloats(torch.softmax(scaled, 0));
        double target = u;
        double cum = 0;
        int last = 0;
        for (int id = 0; id < probs.length; id++) {
            if (probs[id] > 0) {
                cum += probs[id];
                last = id;
                if (cum > target) {
                    return id;
                }
            }
        }
        return last;
    }

    /**
     * Draws from candidates sorted by descending logit. {@code logZ} is the log normaliser of the full distribution, or
     * NaN to renormalise over the candidates (top-k). Keeps the smallest prefix whose mass reaches {@code topP}.
     */
    static int pick(float[] sortedLogits, int[] ids, double topP, double u, double logZ) {
        double z = logZ;
        if (Double.isNaN(z)) {
            double max = sortedLogits[0];
            double sum = 0;
            for (float x : sortedLogits) {
                sum += Math.exp(x - max);
            }
            z = max + Math.log(sum);
        }
        double[] probs = new double[sortedLogits.length];
        double kept = 0;
        int n = 0;
        while (n < probs.length && (n == 0 || kept < topP)) {
            probs[n] = Math.exp(sortedLogits[n] - z);
            kept += probs[n];
            n++;
        }
        double target = u * kept;
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += probs[i];
            if (cum > target) {
                return ids[i];
            }
        }
        return ids[n - 1];
    }

    private static long[] toLongs(List<Long> l) {
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }

    private static float[] toFloats(List<Float> l) {
        float[] a = new float[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }
}
