package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.reference.ReferenceQwen;
import io.qwenserve.engine.kv.PagedKvCache;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** A measured kernel policy: concrete after load, only the chosen forms held, logits unchanged. */
class KernelTunerTest {
    @Test
    void aMeasuredPolicyIsConcreteAfterLoadAndKeepsOnlyTheFormsItUses() {
        Path dir = TestModels.tiny(Architecture.QWEN2);
        ModelOptions o = ModelOptions.of(Precision.F32).withKernelPolicy(KernelPolicy.parse("auto:ONEDNN_PREPACKED,PLAIN"));
        try (QwenModel m = ModelLoader.load(dir, o)) {
            KernelPolicy p = m.kernelPolicy();
            assertFalse(p.isMeasured(), p.toString());
            Set<LinearKernel> chosen = p.kernels();
            assertTrue(EnumSet.of(LinearKernel.ONEDNN_PREPACKED, LinearKernel.PLAIN).containsAll(chosen), p.toString());
            for (Linear l : m.linears()) {
                assertEquals(chosen, l.heldKernels(), "forms of a linear under " + p);
            }
            int[] prompt = ModelVsReferenceTest.ids(3, 12);
            double[][] expected = ReferenceQwen.load(dir).logits(prompt);
            try (PagedKvCache cache = new PagedKvCache(m.config(), 4, 8, Precision.F32, m.devices());
                 Tensor logits = m.forward(new ForwardBatch(prompt, List.of(new ForwardBatch.Slice(prompt.length, prompt.length,
                         new int[] {2, 0}, 1.0, ForwardBatch.Logits.ALL))), cache)) {
                float[] got = Torch.toFloats(logits);
                int v = (int) logits.size(1);
                double worst = 0;
                for (int t = 0; t < prompt.length; t++) {
                    for (int j = 0; j < v; j++) {
                        worst = Math.max(worst, Math.abs(expected[t][j] - got[t * v + j]));
                    }
                }
                assertTrue(worst <= ModelVsReferenceTest.FP32_TOLERANCE, "max |Δlogit| " + worst + " under " + p);
            }
        }
    }

    @Test
    void tuningChoosesPerStepSizeAmongTheCandidates() {
        Path dir = TestModels.tiny(Architecture.QWEN2);
        ModelOptions o = ModelOptions.of(Precision.BF16).withKernelPolicy(KernelPolicy.parse("auto:INT8_FBGEMM,INT8_WEIGHT_ONLY"));
        try (QwenModel m = ModelLoader.load(dir, o)) {
            for (int rows : KernelTuner.SIZES) {
                assertTrue(EnumSet.of(LinearKernel.INT8_FBGEMM, LinearKernel.INT8_WEIGHT_ONLY).contains(m.kernelFor(rows)));
            }
        }
    }
}
