package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.reference.ReferenceQwen;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The libtorch model against the independent float64 reference, at every prompt position. Tolerance: max |Δlogit|
 * ≤ 1e-4 in fp32 (the logits themselves are O(10)).
 */
@Tag(TestDevice.TAG)
class ModelVsReferenceTest {
    static final double FP32_TOLERANCE = 1e-4;

    static Stream<Arguments> checkpoints() {
        List<Arguments> out = new ArrayList<>();
        for (Architecture a : Architecture.values()) {
            RandomCheckpoint.Spec tiny = RandomCheckpoint.Spec.tiny(a);
            out.add(Arguments.of(a.modelType() + "-f32", tiny));
            out.add(Arguments.of(a.modelType() + "-bf16-3shards", tiny.withDtype(DType.BF16).withShards(3)));
        }
        // Qwen v1 with a short training context: dynamic NTK (alpha 3 for 24..32 tokens... ) and logN are active
        out.add(Arguments.of("qwen-s16-f32", RandomCheckpoint.Spec.tiny(Architecture.QWEN).withSeqLength(16)));
        out.add(Arguments.of("qwen-s16-f16", RandomCheckpoint.Spec.tiny(Architecture.QWEN).withSeqLength(16).withDtype(DType.F16)));
        // an MLP of 176 (gate/up 352 rows, down 176 inputs): fp32 oneDNN used to get these wrong
        RandomCheckpoint.Spec t = RandomCheckpoint.Spec.tiny(Architecture.QWEN2);
        out.add(Arguments.of("qwen2-mlp176-f32", new RandomCheckpoint.Spec(t.arch(), t.layers(), t.hidden(), t.heads(), t.kvHeads(),
                t.headDim(), 176, t.vocab(), t.seqLength(), t.dtype(), t.shards(), t.seed(), t.tieEmbeddings())));
        return out.stream();
    }

    static int[] ids(long seed, int n) {
        return new SplittableRandom(seed).ints(n, 0, 151851).toArray();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkpoints")
    void logitsMatchTheReferenceAtEveryPosition(String name, RandomCheckpoint.Spec spec) {
        Path dir = TestModels.get(name, spec);
        ReferenceQwen ref = ReferenceQwen.load(dir);
        int[] prompt = ids(name.hashCode(), 40);
        double[][] expected = ref.logits(prompt);
        try (QwenModel m = ModelLoader.load(dir, TestDevice.options(Precision.F32));
             PromptLogits g = new PromptLogits(m, 64)) {
            float[][] got = g.logits(prompt, true);
            assertEquals(prompt.length, got.length);
            double worst = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (int v = 0; v < expected[t].length; v++) {
                    worst = Math.max(worst, Math.abs(expected[t][v] - got[t][v]));
                }
            }
            assertTrue(worst <= FP32_TOLERANCE, name + ": max |Δlogit| = " + worst);
        }
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void bf16ComputeStaysCloseToTheReference(Architecture arch) {
        Path dir = TestModels.tiny(arch);
        int[] prompt = ids(5, 24);
        double[][] expected = ReferenceQwen.load(dir).logits(prompt);
        try (QwenModel m = ModelLoader.load(dir, TestDevice.options(Precision.BF16));
             PromptLogits g = new PromptLogits(m, 64)) {
            float[][] got = g.logits(prompt, true);
            int agree = 0;
            for (int t = 0; t < prompt.length; t++) {
                agree += argmax(got[t]) == argmax(expected[t]) ? 1 : 0;
            }
            // bf16 keeps 8 bits of mantissa: expect most but not necessarily all argmaxes to agree
            assertTrue(agree >= prompt.length * 3 / 4, arch + ": top-1 agreement " + agree + "/" + prompt.length);
        }
    }

    /**
     * Decoding one token at a time through the paged cache (blocks deliberately out of order) gives the logits of
     * recomputing the whole sequence.
     */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void decodingWithTheCacheEqualsRecomputing(Architecture arch) {
        Path dir = TestModels.tiny(arch);
        int[] seq = ids(9, 37);
        int prefill = 11;
        try (QwenModel m = ModelLoader.load(dir, TestDevice.options(Precision.F32));
             PagedKvCache cache = new PagedKvCache(m.config(), 8, 8, Precision.F32, m.devices());
             PagedKvCache fresh = new PagedKvCache(m.config(), 8, 8, Precision.F32, m.devices())) {
            int[] blocks = {5, 2, 7, 0, 3};
            double alpha = m.rope().ntkAlpha(prefill);
            float[][] full = rows(m.forward(batch(seq, seq.length, seq.length, blocks, alpha, ForwardBatch.Logits.ALL), fresh));
            float[] last = rows(m.forward(batch(java.util.Arrays.copyOf(seq, prefill), prefill, prefill, blocks, alpha, ForwardBatch.Logits.LAST), cache))[0];
            assertClose(full[prefill - 1], last, "prefill");
            for (int t = prefill; t < seq.length; t++) {
                float[] step = rows(m.forward(batch(new int[] {seq[t]}, 1, t + 1, blocks, alpha, ForwardBatch.Logits.LAST), cache))[0];
                assertClose(full[t], step, "position " + t);
            }
        }
    }

    private static ForwardBatch batch(int[] tokens, int queryLen, int contextLen, int[] blocks, double alpha, ForwardBatch.Logits logits) {
        return new ForwardBatch(tokens, List.of(new ForwardBatch.Slice(queryLen, contextLen, blocks, alpha, logits)));
    }

    static float[][] rows(Tensor logits) {
        try (logits) {
            return Torch.rows(logits);
        }
    }

    private static void assertClose(float[] a, float[] b, String where) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertTrue(worst <= FP32_TOLERANCE, where + ": max |Δlogit| = " + worst);
    }

    static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int argmax(double[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
