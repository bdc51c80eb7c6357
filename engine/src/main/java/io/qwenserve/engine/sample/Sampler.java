package io.qwenserve.engine.sample;

import io.qwenserve.engine.model.StepBuffer;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.structured.LogitsMasker;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRef;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Picks one token per row of a logits batch, each row with its own parameters, on the logits' device for the whole
 * batch at once.
 *
 * <p>Order per row, as Hugging Face applies it: padding ids masked, the response format's mask (constrained rows
 * only), repetition penalty (prompt and output ids), presence/frequency penalties (output ids), temperature, top-k,
 * top-p, then a draw with the row's own uniform from its request's random stream ({@link DeviceDraw}). Greedy rows
 * take the argmax. Log probabilities are those of the raw model distribution (before the mask and the penalties).
 *
 * <p>Host and device meet twice per step. The inputs (penalty indices, mask indices, each row's parameters and draw)
 * are packed into the step's one host buffer ({@link #prepare}, {@link StepBuffer}) and reach the device with the
 * forward pass's inputs; the results (every row's id, and the log probabilities when a row asks for them) come back in
 * one copy. The one exception: a top-p row without top-k is drawn from its {@value #NUCLEUS_CANDIDATES} most likely ids
 * when they hold its nucleus, which they do unless the distribution is very flat; a row whose nucleus is larger is
 * drawn again over the whole vocabulary, at the cost of one more copy each way.
 */
public final class Sampler {
    static final int NUCLEUS_CANDIDATES = 256;

    private final int validVocab;
    private final int nucleusCandidates;
    private final LogitsMasker masker = new LogitsMasker();

    /** @param validVocab ids at or above this (embedding padding rows) are never sampled */
    public Sampler(int validVocab) {
        this(validVocab, NUCLEUS_CANDIDATES);
    }

    Sampler(int validVocab, int nucleusCandidates) {
        this.validVocab = validVocab;
        this.nucleusCandidates = nucleusCandidates;
    }

    /** Samples row i of {@code logits} [B, V] (float32, modified in place) with {@code rows.get(i)}. */
    public SampleResult[] sample(Tensor logits, List<SamplingRow> rows) {
        try (PointerScope scope = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            Prepared p = prepare(rows, logits.size(1), buf);
            buf.upload(logits.device());
            return sample(logits, rows, p, buf);
        }
    }

    /** Host side: packs the batch's sampling inputs into the step's buffer (logits of width {@code vocab}). */
    public Prepared prepare(List<SamplingRow> rows, long vocab, StepBuffer buf) {
        return SamplerInputs.pack(rows, vocab, validVocab, nucleusCandidates, masker, buf);
    }

    /**
     * Device side: samples with inputs {@link #prepare}d into {@code buf}, which is uploaded to the logits' device.
     * {@code logits} [B, V] float32 are modified in place.
     */
    public SampleResult[] sample(Tensor logits, List<SamplingRow> rows, Prepared p, StepBuffer buf) {
        int b = rows.size();
        long v = logits.size(1);
        if (v != p.vocab || logits.size(0) != b) {
            throw new IllegalArgumentException("logits " + logits.size(0) + " x " + v + " for sampling inputs packed for "
                    + b + " x " + p.vocab);
        }
        Device device = logits.device();
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            if (validVocab < v) {
                logits.narrow(1, validVocab, v - validVocab).fill_(new Scalar(Double.NEGATIVE_INFINITY));
            }
            Tensor logprobs = p.maxLogprobs > 0 ? torch.log_softmax(logits, 1) : null;
            if (p.masks != null) {
                masker.apply(logits, p.masks, buf);
            }
            applyPenalties(logits, p, buf, device);
            // the greedy rows' ids (and the full draw's fallback); drawn rows replace theirs
            Tensor ids = p.greedy + p.full > 0 ? torch.argmax(logits, new LongOptional(1), false) : null;
            Tensor beyond = null;
            if (p.truncated > 0) {
                Tensor rowsT = buf.longs(device, p.truncatedRows, p.truncated);
                Tensor[] drawn = DeviceDraw.truncated(logits, rowsT,
                        buf.doubles(device, p.truncatedParams, (long) p.truncated * DeviceDraw.TRUNCATED_COLUMNS)
                                .view(p.truncated, DeviceDraw.TRUNCATED_COLUMNS), p.candidates,
                        new DeviceDraw.Truncation(p.truncated == b, p.anyNucleusOnly, p.cutAtK, p.anyTopP, p.mayRedraw));
                if (ids == null) { // every row is a truncated one, in order
                    ids = drawn[0];
                } else {
                    ids.index_copy_(0, rowsT, drawn[0]);
                }
                if (p.mayRedraw) {
                    beyond = p.truncated == b ? drawn[1].to(ScalarType.Float)
                            : torch.zeros(new long[] {b}, Torch.options(ScalarType.Float, device)).index_copy_(0, rowsT, drawn[1].to(ScalarType.Float));
                }
            }
            if (p.full > 0) {
                Tensor rowsF = buf.longs(device, p.fullRows, p.full);
                // the logits are not read again after this draw: it may work in place when it covers every row
                ids.index_copy_(0, rowsF, DeviceDraw.full(logits, rowsF,
                        buf.doubles(device, p.fullParams, (long) p.full * DeviceDraw.FULL_COLUMNS).view(p.full, DeviceDraw.FULL_COLUMNS),
                        ids, p.full == b));
            }
            List<Tensor> columns = new ArrayList<>(List.of(ids.to(ScalarType.Float).unsqueeze(1)));
            if (beyond != null) {
                columns.add(beyond.unsqueeze(1));
            }
            if (logprobs != null) {
                T_TensorTensor_T top = torch.topk(logprobs, p.maxLogprobs, 1, true, true);
                columns.add(torch.gather(logprobs, 1, ids.unsqueeze(1)));
                columns.add(top.get0());
                columns.add(top.get1().to(ScalarType.Float)); // ids below 2^24 are exact in float32
            }
            float[] out = Torch.toFloats(columns.size() == 1 ? columns.get(0)
                    : torch.cat(new TensorArrayRef(new TensorVector(columns.toArray(new Tensor[0]))), 1));
            return results(logits, rows, p, out, logprobs);
        }
    }

    /**
     * Reads the one copy back: [B, cols] = the id, whether the nucleus is beyond the candidates (when a row may be drawn
     * again), then the drawn id's log probability and the top n log probabilities and their ids (when asked).
     */
    private SampleResult[] results(Tensor logits, List<SamplingRow> rows, Prepared p, float[] out, Tensor logprobs) {
        int b = rows.size();
        int lp = p.mayRedraw ? 2 : 1; // the first log probability column
        int cols = lp + (p.maxLogprobs > 0 ? 1 + 2 * p.maxLogprobs : 0);
        int[] tokens = new int[b];
        float[] chosen = new float[b];
        List<Integer> again = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            tokens[i] = (int) out[i * cols];
            chosen[i] = p.maxLogprobs > 0 ? out[i * cols + lp] : 0;
            if (p.mayRedraw && out[i * cols + 1] != 0) {
                again.add(i);
            }
        }
        if (!again.isEmpty()) {
            // the truncated draw scaled the logits in place when it covered the whole batch
            redrawOverTheVocabulary(logits, rows, again, tokens, chosen, logprobs, p.truncated == b);
        }
        SampleResult[] results = new SampleResult[b];
        for (int i = 0; i < b; i++) {
            int n = rows.get(i).params().logprobs();
            if (n == 0) {
                results[i] = SampleResult.of(tokens[i]);
                continue;
            }
            float[] top = new float[n];
            int[] topIds = new int[n];
            for (int j = 0; j < n; j++) {
                top[j] = out[i * cols + lp + 1 + j];
                topIds[j] = (int) out[i * cols + lp + 1 + p.maxLogprobs + j];
            }
            results[i] = new SampleResult(tokens[i], chosen[i], topIds, top);
        }
        return results;
    }

    /** Top-p rows whose nucleus the candidates did not hold: drawn again from the whole sorted vocabulary. */
    private void redrawOverTheVocabulary(Tensor logits, List<SamplingRow> rows, List<Integer> again, int[] tokens,
                                         float[] chosen, Tensor logprobs, boolean scaled) {
        Device device = logits.device();
        StepBuffer buf = new StepBuffer();
        long[] index = again.stream().mapToLong(Integer::longValue).toArray();
        double[] params = new double[again.size() * DeviceDraw.TRUNCATED_COLUMNS];
        int v = (int) logits.size(1);
        for (int j = 0; j < again.size(); j++) {
            SamplingParams sp = rows.get(again.get(j)).params();
            SamplerInputs.truncatedParams(params, j, sp, rows.get(again.get(j)).uniform(), v, false);
            if (scaled) {
                params[j * DeviceDraw.TRUNCATED_COLUMNS + DeviceDraw.T] = 1;
            }
        }
        int at = buf.put(index);
        int pa = buf.put(params);
        buf.upload(device);
        Tensor rowsT = buf.longs(device, at, index.length);
        Tensor drawn = DeviceDraw.truncated(logits, rowsT,
                buf.doubles(device, pa, params.length).view(index.length, DeviceDraw.TRUNCATED_COLUMNS), v,
                new DeviceDraw.Truncation(false, true, false, true, false))[0];
        Tensor back = logprobs == null ? drawn.to(ScalarType.Float).unsqueeze(1) : torch.cat(new TensorArrayRef(new TensorVector(
                drawn.to(ScalarType.Float).unsqueeze(1), torch.gather(torch.index_select(logprobs, 0, rowsT), 1, drawn.unsqueeze(1)))), 1);
        float[] out = Torch.toFloats(back);
        int cols = logprobs == null ? 1 : 2;
        for (int j = 0; j < again.size(); j++) {
            tokens[again.get(j)] = (int) out[j * cols];
            if (logprobs != null) {
                chosen[again.get(j)] = out[j * cols + 1];
            }
        }
    }

    private static void applyPenalties(Tensor logits, Prepared p, StepBuffer buf, Device device) {
        if (p.nRepetition == 0 && p.nAdditive == 0) {
            return;
        }
        Tensor flat = logits.view(-1);
        if (p.nRepetition > 0) {
            Tensor idx = buf.longs(device, p.repetitionIds, p.nRepetition);
            Tensor f = buf.floats(device, p.repetitionFactors, p.nRepetition);
            Tensor vals = torch.index_select(flat, 0, idx);
            // positive logits are divided by the penalty, negative ones multiplied (Hugging Face)
            flat.index_copy_(0, idx, torch.where(vals.gt(new Scalar(0.0)), vals.div(f), vals.mul(f)));
        }
        if (p.nAdditive > 0) {
            flat.index_add_(0, buf.longs(device, p.additiveIds, p.nAdditive), buf.floats(device, p.additiveDeltas, p.nAdditive));
        }
    }

    /** A batch's sampling inputs, packed into a {@link StepBuffer}: offsets, counts and the host-side facts. */
    public static final class Prepared {
        long vocab;
        int maxLogprobs;
        LogitsMasker.Packed masks;
        int repetitionIds, repetitionFactors, nRepetition;
        int additiveIds, additiveDeltas, nAdditive;
        int truncated, truncatedRows, truncatedParams, candidates;
        boolean mayRedraw; // a top-p row may need the logits again (its nucleus beyond the candidates)
        boolean anyNucleusOnly; // a top-p row without top-k: the full distribution's mass is needed
        boolean cutAtK; // a row's k below the candidates
        boolean anyTopP;
        int greedy;
        int full, fullRows, fullParams;
    }
}
