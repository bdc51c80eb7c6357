package io.qwenserve.engine.sample;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.model.Transfers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The sampler draws a whole batch at once on the logits' device: rows of different kinds in one batch each follow
 * their own definition (chi-square over many draws, fixed seeds), a top-p nucleus larger than the candidates is drawn
 * again over the vocabulary, and a batch costs one copy to the device and one back, log probabilities included.
 */
@Tag(TestDevice.TAG)
class BatchedSamplingTest {
    static final int V = 10;
    static final int VALID = 8;
    static final float[] LOGITS = {1.0f, 2.5f, 0.3f, -1.0f, 2.0f, 0.0f, 1.7f, -0.5f, 9f, 9f}; // 8, 9: padding
    /** Flat: its top-p 0.9 nucleus needs 7 of the 8 valid ids. */
    static final float[] FLAT = {0.1f, 0.0f, 0.2f, 0.05f, 0.15f, 0.0f, 0.1f, 0.05f, 9f, 9f};
    private static Device device;

    @BeforeAll
    static void init() {
        TorchRuntime.init();
        device = TestDevice.device();
    }

    static SamplingParams params(double temperature, double topP, int topK) {
        return new SamplingParams(temperature, topP, topK, 1, 0, 0, null, 16, List.of(), Set.of(), 0);
    }

    /** The definition: softmax(logits / T) over the valid ids, the top-k, then the smallest top-p prefix, renormalised. */
    static double[] expected(float[] logits, double t, double topP, int topK) {
        Integer[] order = new Integer[VALID];
        for (int i = 0; i < VALID; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int k = topK > 0 ? topK : VALID;
        double z = 0;
        for (int i = 0; i < k; i++) {
            z += Math.exp(logits[order[i]] / t);
        }
        double[] p = new double[V];
        double kept = 0;
        for (int n = 0; n < k && (n == 0 || kept < topP); n++) {
            p[order[n]] = Math.exp(logits[order[n]] / t) / z;
            kept += p[order[n]];
        }
        for (int i = 0; i < V; i++) {
            p[i] /= kept;
        }
        return p;
    }

    static Tensor logits(float[][] rows) {
        float[] all = new float[rows.length * V];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, all, r * V, V);
        }
        return Torch.floats(all, device, rows.length, V);
    }

    static void assertFollows(double[] expected, int[] counts, int n, String what) {
        double chi2 = 0;
        int dof = -1;
        for (int i = 0; i < V; i++) {
            if (expected[i] == 0) {
                assertEquals(0, counts[i], what + ": id " + i + " is outside the kept set: " + Arrays.toString(counts));
                continue;
            }
            double e = expected[i] * n;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            dof++;
        }
        double[] critical = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32}; // p = 0.001, 1..7 degrees of freedom
        assertTrue(dof == 0 || chi2 < critical[dof - 1], what + ": chi-square " + chi2 + " (" + dof + " dof), counts "
                + Arrays.toString(counts) + ", expected " + Arrays.toString(expected));
    }

    @Test
    void rowsOfEveryKindInOneBatchEachFollowTheirDefinition() {
        SamplingParams[] kinds = {SamplingParams.greedy(16), params(1.0, 1.0, 0), params(0.5, 1.0, 0), params(1.0, 1.0, 3),
            params(1.0, 0.6, 0), params(0.7, 0.9, 5), params(2.0, 0.8, 0)};
        int per = 600;
        SplittableRandom random = new SplittableRandom(17);
        List<SamplingRow> rows = new ArrayList<>();
        float[][] batch = new float[kinds.length * per][];
        for (int i = 0; i < kinds.length * per; i++) {
            rows.add(SamplingRow.of(kinds[i % kinds.length], kinds[i % kinds.length].greedy() ? 0 : random.nextDouble()));
            batch[i] = LOGITS;
        }
        int[][] counts = new int[kinds.length][V];
        try (Tensor logits = logits(batch)) {
            long up = Transfers.toDevice();
            long down = Transfers.toHost();
            SampleResult[] r = new Sampler(VALID).sample(logits, rows);
            assertEquals(1, Transfers.toDevice() - up, "one copy of the batch's inputs to the device");
            assertEquals(1, Transfers.toHost() - down, "one copy of the batch's ids back");
            for (int i = 0; i < r.length; i++) {
                counts[i % kinds.length][r[i].token()]++;
            }
        }
        assertEquals(per, counts[0][1], "greedy rows take the argmax of the valid ids: " + Arrays.toString(counts[0]));
        for (int k = 1; k < kinds.length; k++) {
            SamplingParams p = kinds[k];
            assertFollows(expected(LOGITS, p.temperature(), p.topP(), p.topK()), counts[k], per, p.toString());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aNucleusLargerThanTheCandidatesIsDrawnOverTheVocabulary(boolean greedyRowsToo) {
        // 2 candidates cannot hold a 0.9 nucleus of the flat row: those rows are drawn again, one more copy each way.
        // Top-p rows alone are scaled in place, greedy rows among them keep the logits as they are: both redraw right.
        int n = 1500;
        SplittableRandom random = new SplittableRandom(5);
        List<SamplingRow> rows = new ArrayList<>();
        float[][] batch = new float[n][];
        for (int i = 0; i < n; i++) {
            boolean flat = i % 3 != 0;
            boolean greedy = greedyRowsToo && i % 5 == 0;
            rows.add(greedy ? SamplingRow.of(SamplingParams.greedy(16), 0)
                    : SamplingRow.of(params(flat ? 0.7 : 1.0, flat ? 0.9 : 0.5, 0), random.nextDouble()));
            batch[i] = flat ? FLAT : LOGITS;
        }
        int[] flatCounts = new int[V];
        int[] peakedCounts = new int[V];
        int flatRows = 0;
        int peakedRows = 0;
        try (Tensor logits = logits(batch)) {
            long up = Transfers.toDevice();
            long down = Transfers.toHost();
            SampleResult[] r = new Sampler(VALID, 2).sample(logits, rows);
            assertEquals(2, Transfers.toDevice() - up, "the batch's inputs, then the rows drawn again");
            assertEquals(2, Transfers.toHost() - down);
            for (int i = 0; i < n; i++) {
                if (rows.get(i).params().greedy()) {
                    assertEquals(i % 3 != 0 ? 2 : 1, r[i].token(), "greedy row " + i);
                } else if (i % 3 != 0) {
                    flatCounts[r[i].token()]++;
                    flatRows++;
                } else {
                    peakedCounts[r[i].token()]++;
                    peakedRows++;
                }
            }
        }
        assertFollows(expected(FLAT, 0.7, 0.9, 0), flatCounts, flatRows, "flat row, T 0.7, top-p 0.9, drawn again");
        assertFollows(expected(LOGITS, 1.0, 0.5, 0), peakedCounts, peakedRows, "peaked row, top-p 0.5, held by 2 candidates");
    }

    @Test
    void logprobsComeBackInTheSameCopyForDrawnRowsToo() {
        SamplingParams sampled = new SamplingParams(0.8, 0.95, 0, 1.2, 0.1, 0.1, null, 16, List.of(), Set.of(), 3);
        SamplingParams greedy = new SamplingParams(0, 1, 0, 1, 0, 0, null, 16, List.of(), Set.of(), 1);
        List<SamplingRow> rows = List.of(new SamplingRow(sampled, 0.3, new int[] {1}, new int[] {1}, new int[] {2}),
                SamplingRow.of(greedy, 0));
        double z = 0;
        for (int i = 0; i < VALID; i++) {
            z += Math.exp(LOGITS[i]);
        }
        try (Tensor logits = logits(new float[][] {LOGITS, LOGITS})) {
            long down = Transfers.toHost();
            SampleResult[] r = new Sampler(VALID).sample(logits, rows);
            assertEquals(1, Transfers.toHost() - down, "ids and log probabilities in one copy");
            assertEquals(LOGITS[r[0].token()] - Math.log(z), r[0].logprob(), 1e-5, "the drawn id's raw log probability");
            assertArrayEquals(new int[] {1, 4, 6}, r[0].topIds());
            assertEquals(1, r[1].token());
            assertArrayEquals(new int[] {1}, r[1].topIds());
            assertEquals(LOGITS[1] - Math.log(z), r[1].topLogprobs()[0], 1e-5);
        }
    }

    @Test
    void theWholeVocabularyDrawFindsItsBlockAndItsId() {
        // 5,000 ids (10 blocks of 500): five likely ids spread over the blocks, the rest -inf; temperature only
        int v = 5000;
        int[] likely = {3, 499, 500, 2717, 4999};
        float[] row = new float[v];
        Arrays.fill(row, Float.NEGATIVE_INFINITY);
        float[] logit = {0.5f, 1.5f, -0.3f, 1.0f, 0.2f};
        for (int i = 0; i < likely.length; i++) {
            row[likely[i]] = logit[i];
        }
        int n = 1500;
        float[] all = new float[n * v];
        List<SamplingRow> rows = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(23);
        for (int i = 0; i < n; i++) {
            System.arraycopy(row, 0, all, i * v, v);
            rows.add(SamplingRow.of(params(1.3, 1.0, 0), random.nextDouble()));
        }
        int[] counts = new int[likely.length];
        try (Tensor logits = Torch.floats(all, device, n, v)) {
            for (SampleResult r : new Sampler(v).sample(logits, rows)) {
                int at = Arrays.binarySearch(likely, r.token());
                assertTrue(at >= 0, "drew id " + r.token() + " of probability 0");
                counts[at]++;
            }
        }
        double z = 0;
        for (float l : logit) {
            z += Math.exp(l / 1.3);
        }
        double chi2 = 0;
        for (int i = 0; i < likely.length; i++) {
            double e = n * Math.exp(logit[i] / 1.3) / z;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
        }
        assertTrue(chi2 < 18.47, "chi-square " + chi2 + " (4 dof), counts " + Arrays.toString(counts));
        assertEquals(500, DeviceDraw.blockFor(v), "5,000 = 10 blocks of 500");
        assertEquals(1187, DeviceDraw.blockFor(151936), "Qwen's 151,936 ids: 128 blocks of 1,187, no padding");
    }
}
