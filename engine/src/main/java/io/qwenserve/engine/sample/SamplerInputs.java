package io.qwenserve.engine.sample;

import io.qwenserve.engine.model.StepBuffer;
import io.qwenserve.engine.structured.LogitsMasker;
import java.util.ArrayList;
import java.util.List;

/**
 * Host side of a sampling pass: every row's penalties, mask and draw parameters, packed into the step's
 * {@link StepBuffer} so that they reach the device in the step's one copy.
 */
final class SamplerInputs {
    private SamplerInputs() {}

    static Sampler.Prepared pack(List<SamplingRow> rows, long vocab, int validVocab, int nucleusCandidates,
                                 LogitsMasker masker, StepBuffer buf) {
        Sampler.Prepared p = new Sampler.Prepared();
        p.vocab = vocab;
        int b = rows.size();
        List<LogitsMasker.Row> masked = new ArrayList<>();
        LongList repIdx = new LongList();
        FloatList repFactor = new FloatList();
        LongList addIdx = new LongList();
        FloatList addDelta = new FloatList();
        LongList truncated = new LongList();
        LongList full = new LongList();
        int candidates = 1;
        for (int i = 0; i < b; i++) {
            SamplingRow row = rows.get(i);
            SamplingParams sp = row.params();
            p.maxLogprobs = Math.max(p.maxLogprobs, sp.logprobs());
            if (row.mask() != null) {
                masked.add(new LogitsMasker.Row(i, row.mask(), row.endIds()));
            }
            for (int id : row.repetitionIds()) {
                repIdx.add(i * vocab + id);
                repFactor.add((float) sp.repetitionPenalty());
            }
            for (int j = 0; j < row.outputIds().length; j++) {
                addIdx.add(i * vocab + row.outputIds()[j]);
                addDelta.add((float) -(sp.presencePenalty() + sp.frequencyPenalty() * row.outputCounts()[j]));
            }
            if (sp.greedy()) {
                p.greedy++;
                continue;
            }
            if (sp.topK() > 0 || sp.topP() < 1) {
                truncated.add(i);
                p.anyNucleusOnly |= sp.topK() == 0;
                candidates = Math.max(candidates, sp.topK() > 0 ? sp.topK() : nucleusCandidates);
            } else {
                full.add(i);
            }
        }
        p.candidates = (int) Math.min(candidates, Math.min(vocab, validVocab));
        if (!masked.isEmpty()) {
            p.masks = masker.pack(masked, vocab, buf);
        }
        p.nRepetition = repIdx.size;
        if (p.nRepetition > 0) {
            p.repetitionIds = buf.put(repIdx.toArray());
            p.repetitionFactors = buf.put(repFactor.toArray());
        }
        p.nAdditive = addIdx.size;
        if (p.nAdditive > 0) {
            p.additiveIds = buf.put(addIdx.toArray());
            p.additiveDeltas = buf.put(addDelta.toArray());
        }
        p.truncated = truncated.size;
        if (p.truncated > 0) {
            double[] params = new double[p.truncated * DeviceDraw.TRUNCATED_COLUMNS];
            for (int j = 0; j < p.truncated; j++) {
                SamplingRow row = rows.get((int) truncated.values[j]);
                boolean check = p.candidates < Math.min(vocab, validVocab);
                truncatedParams(params, j, row.params(), row.uniform(), p.candidates, check);
                p.cutAtK |= params[j * DeviceDraw.TRUNCATED_COLUMNS + DeviceDraw.K] < p.candidates;
                p.anyTopP |= row.params().topP() < 1;
                p.mayRedraw |= check && row.params().topK() == 0;
            }
            p.truncatedRows = buf.put(truncated.toArray());
            p.truncatedParams = buf.put(params);
        }
        p.full = full.size;
        if (p.full > 0) {
            double[] params = new double[p.full * DeviceDraw.FULL_COLUMNS];
            for (int j = 0; j < p.full; j++) {
                SamplingRow row = rows.get((int) full.values[j]);
                params[j * DeviceDraw.FULL_COLUMNS + DeviceDraw.FULL_T] = row.params().temperature();
                params[j * DeviceDraw.FULL_COLUMNS + DeviceDraw.FULL_U] = row.uniform();
            }
            p.fullRows = buf.put(full.toArray());
            p.fullParams = buf.put(params);
        }
        return p;
    }

    /** Row {@code j} of a truncated draw's parameters ({@link DeviceDraw#truncated}) over {@code candidates} ids. */
    static void truncatedParams(double[] params, int j, SamplingParams sp, double u, int candidates, boolean checkFit) {
        int o = j * DeviceDraw.TRUNCATED_COLUMNS;
        params[o + DeviceDraw.T] = sp.temperature();
        params[o + DeviceDraw.K] = sp.topK() > 0 ? Math.min(sp.topK(), candidates) : candidates;
        params[o + DeviceDraw.P] = sp.topP() < 1 ? sp.topP() : 2.0; // 2: every id of the top-k is kept
        params[o + DeviceDraw.U] = u;
        params[o + DeviceDraw.HAS_K] = sp.topK() > 0 ? 1 : 0;
        params[o + DeviceDraw.CHECK_FIT] = sp.topK() == 0 && checkFit ? 1 : 0;
    }

    /** A growable long array. */
    static final class LongList {
        long[] values = new long[16];
        int size;

        void add(long v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }

    /** A growable float array. */
    static final class FloatList {
        float[] values = new float[16];
        int size;

        void add(float v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}
