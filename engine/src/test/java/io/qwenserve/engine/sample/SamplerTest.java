package io.qwenserve.engine.sample;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The sampler against the definitions, on a 10-entry vocabulary whose last 2 ids are padding: greedy, penalties (read
 * back from the logits it modifies in place), log probabilities, and the distributions of temperature, top-k and
 * top-p sampling checked by chi-square over many draws (fixed seeds: the test is deterministic).
 */
@Tag(TestDevice.TAG)
class SamplerTest {
    private static final int V = 10;
    private static final int VALID = 8;
    private static final float[] LOGITS = {1.0f, 2.5f, 0.3f, -1.0f, 2.0f, 0.0f, 1.7f, -0.5f, 9f, 9f}; // 8, 9: padding
    private static Device device;

    @BeforeAll
    static void init() {
        TorchRuntime.init();
        device = TestDevice.device();
    }

    private static Tensor batch(float[] row, int rows) {
        float[] all = new float[row.length * rows];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(row, 0, all, r * row.length, row.length);
        }
        return Torch.floats(all, device, rows, row.length);
    }

    private static SamplingParams params(double temperature, double topP, int topK) {
        return new SamplingParams(temperature, topP, topK, 1, 0, 0, null, 16, List.of(), Set.of(), 0);
    }

    /** Draws {@code n} tokens with uniforms from a fixed seed; returns the count per id. */
    private static int[] draw(SamplingParams p, int n) {
        SplittableRandom r = new SplittableRandom(11);
        List<SamplingRow> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(SamplingRow.of(p, r.nextDouble()));
        }
        int[] counts = new int[V];
        try (Tensor logits = batch(LOGITS, n)) {
            for (SampleResult s : new Sampler(VALID).sample(logits, rows)) {
                counts[s.token()]++;
            }
        }
        return counts;
    }

    /** The definition: softmax(logits / T) over the valid ids, then top-k, then the smallest top-p prefix, renormalised. */
    private static double[] expected(double temperature, double topP, int topK) {
        Integer[] order = new Integer[VALID];
        for (int i = 0; i < VALID; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(LOGITS[b], LOGITS[a]));
        double[] p = new double[V];
        double z = 0;
        for (int i = 0; i < VALID; i++) {
            z += Math.exp(LOGITS[i] / temperature);
        }
        int keep = topK > 0 ? Math.min(topK, VALID) : VALID;
        double kept = 0;
        int n = 0;
        while (n < keep && (n == 0 || kept < topP * (topK > 0 ? massOf(order, topK, temperature, z) : 1))) {
            kept += Math.exp(LOGITS[order[n]] / temperature) / z;
            n++;
        }
        for (int i = 0; i < n; i++) {
            p[order[i]] = Math.exp(LOGITS[order[i]] / temperature) / z / kept;
        }
        return p;
    }

    private static double massOf(Integer[] order, int k, double t, double z) {
        double m = 0;
        for (int i = 0; i < k; i++) {
            m += Math.exp(LOGITS[order[i]] / t) / z;
        }
        return m;
    }

    private static void assertDistribution(double[] expected, int[] counts, int n, String what) {
        double chi2 = 0;
        int dof = -1;
        for (int i = 0; i < V; i++) {
            if (expected[i] == 0) {
                assertEquals(0, counts[i], what + ": id " + i + " is outside the kept set (counts " + Arrays.toString(counts) + ")");
                continue;
            }
            double e = expected[i] * n;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            dof++;
        }
        // p = 0.001 critical values for 1..7 degrees of freedom
        double[] critical = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32};
        assertTrue(dof == 0 || chi2 < critical[dof - 1], what + ": chi-square " + chi2 + " with " + dof + " dof; counts "
                + Arrays.toString(counts) + ", expected " + Arrays.toString(expected));
    }

    @Test
    void greedyTakesTheArgmaxOfTheValidIds() {
        try (Tensor logits = batch(LOGITS, 2)) {
            SampleResult[] r = new Sampler(VALID).sample(logits, List.of(SamplingRow.of(SamplingParams.greedy(4), 0),
                    SamplingRow.of(params(1, 1, 1), 0.99)));
            assertEquals(1, r[0].token(), "the padding ids (logit 9) are never picked");
            assertEquals(1, r[1].token(), "top-k 1 is greedy whatever the draw");
        }
    }

    @Test
    void sampledDistributionsFollowTheDefinition() {
        int n = 1200;
        assertDistribution(expected(1.0, 1.0, 0), draw(params(1.0, 1.0, 0), n), n, "temperature 1");
        assertDistribution(expected(0.5, 1.0, 0), draw(params(0.5, 1.0, 0), n), n, "temperature 0.5");
        assertDistribution(expected(2.0, 1.0, 0), draw(params(2.0, 1.0, 0), n), n, "temperature 2");
        assertDistribution(expected(1.0, 1.0, 3), draw(params(1.0, 1.0, 3), n), n, "top-k 3");
        assertDistribution(expected(1.0, 0.6, 0), draw(params(1.0, 0.6, 0), n), n, "top-p 0.6");
        assertDistribution(expected(0.7, 0.9, 5), draw(params(0.7, 0.9, 5), n), n, "temperature 0.7, top-k 5, top-p 0.9");
    }

    @Test
    void penaltiesChangeTheLogitsAsDefined() {
        SamplingParams p = new SamplingParams(0, 1, 0, 2.0, 0.5, 0.25, null, 16, List.of(), Set.of(), 0);
        // repetition penalty on ids 0 (positive logit) and 3 (negative); presence/frequency on id 1 (seen twice)
        SamplingRow row = new SamplingRow(p, 0, new int[] {0, 3}, new int[] {1}, new int[] {2});
        try (Tensor logits = batch(LOGITS, 1)) {
            new Sampler(VALID).sample(logits, List.of(row));
            float[] after = Torch.toFloats(logits);
            assertEquals(LOGITS[0] / 2.0, after[0], 1e-6, "a positive logit is divided by the repetition penalty");
            assertEquals(LOGITS[3] * 2.0, after[3], 1e-6, "a negative one is multiplied");
            assertEquals(LOGITS[1] - (0.5 + 0.25 * 2), after[1], 1e-6, "presence + frequency x count is subtracted");
            assertEquals(LOGITS[4], after[4], 0, "other ids are untouched");
            assertEquals(Float.NEGATIVE_INFINITY, after[8], "padding ids are masked");
        }
    }

    @Test
    void penalisedSequencesRowsComeFromTheirHistory() {
        SamplingParams p = new SamplingParams(0, 1, 0, 1.3, 0.1, 0.2, null, 16, List.of(), Set.of(), 0);
        SequenceSampler s = new SequenceSampler(p, new int[] {4, 5, 4});
        s.accept(2);
        s.accept(2);
        s.accept(6);
        SamplingRow row = s.nextRow();
        assertEquals(Set.of(2, 4, 5, 6), Set.copyOf(Arrays.stream(row.repetitionIds()).boxed().toList()));
        int[] counts = new int[V];
        for (int i = 0; i < row.outputIds().length; i++) {
            counts[row.outputIds()[i]] = row.outputCounts()[i];
        }
        assertArrayEquals(new int[] {0, 0, 2, 0, 0, 0, 1, 0, 0, 0}, counts, "output counts only, not the prompt");
        assertEquals(0, new SequenceSampler(SamplingParams.greedy(4), new int[] {1}).nextRow().uniform(), "greedy rows draw nothing");
    }

    @Test
    void logprobsAreThoseOfTheRawDistribution() {
        SamplingParams p = new SamplingParams(0, 1, 0, 3.0, 0, 0, null, 16, List.of(), Set.of(), 3);
        try (Tensor logits = batch(LOGITS, 1)) {
            SampleResult r = new Sampler(VALID).sample(logits, List.of(new SamplingRow(p, 0, new int[] {1}, new int[0], new int[0])))[0];
            double z = 0;
            for (int i = 0; i < VALID; i++) {
                z += Math.exp(LOGITS[i]);
            }
            assertEquals(4, r.token(), "the penalty moved the argmax from id 1 to id 4");
            assertEquals(LOGITS[4] - Math.log(z), r.logprob(), 1e-5, "log probability before penalties");
            assertArrayEquals(new int[] {1, 4, 6}, r.topIds());
            assertEquals(LOGITS[1] - Math.log(z), r.topLogprobs()[0], 1e-5);
        }
    }
}
