package io.qwenserve.engine.model;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.bench.QuantAccuracy;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * GPTQ Int4 checkpoints written by {@link RandomCheckpoint#writeGptq} (tiny models, group size 32, F16 like Qwen's
 * Int4 files).
 *
 * <p>Tolerances. int4 kernel (fp32 model, bf16 activations into the kernel, scales rounded to bf16) against the same
 * checkpoint dequantized to fp32 and run with plain {@code torch.linear}: max |Δlogit| ≤ 2% of the mean logit spread,
 * top-1 agreement ≥ 0.9 and the 8 greedy ids of each prompt equal. Act-order checkpoints are dequantized at load and
 * must equal the reference to 1e-3.
 */
@Tag(TestDevice.TAG)
class GptqModelTest {

    static Path gptq(Architecture arch, boolean descAct) {
        RandomCheckpoint.Spec spec = RandomCheckpoint.Spec.tiny(arch).withDtype(DType.F16);
        return TestModels.get("gptq-" + arch.modelType() + (descAct ? "-actorder" : ""), spec, new RandomCheckpoint.Gptq(32, descAct));
    }

    static final ModelOptions DEQUANTIZED_FP32 = ModelOptions.of(Precision.F32).withDevice(TestDevice.name())
            .withKernel(LinearKernel.PLAIN);

    @BeforeEach
    void onTheDeviceUnderTest() {
        TestDevice.assumeAvailable();
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void int4KernelMatchesTheDequantizedModel(Architecture arch) {
        Path dir = gptq(arch, false);
        ModelOptions int4 = TestDevice.options(Precision.F32);
        try (QwenModel m = ModelLoader.load(dir, int4)) {
            assertEquals(LinearKernel.INT4_PACKED, m.kernel());
            assertEquals("gptq-int4", m.weightFormat());
        }
        QuantAccuracy.Result r = QuantAccuracy.compare(dir, DEQUANTIZED_FP32, int4, 2, 24, 8, 11);
        System.out.printf("gptq int4 kernel vs dequantized fp32, %s: %s%n", arch, r);
        assertTrue(r.maxAbsDelta() <= 0.02 * r.referenceSpread(), arch + ": " + r);
        assertTrue(r.top1Agreement() >= 0.9, arch + ": " + r);
        assertEquals(r.greedyTotal(), r.greedyMatched(), arch + ": greedy ids differ: " + r);
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void dequantizedGptqStaysCloseToTheFloatModelItCameFrom(Architecture arch) {
        // the float model of the same seed: a wrong unpacking (nibble order, zero offset, transposition) would leave
        // next to no agreement (chance is 1 in 151,936); 4-bit round-to-nearest of these random weights keeps about
        // half of the argmaxes (measured 12-13 of 24)
        Path gptq = gptq(arch, false);
        Path fp = TestModels.tiny(arch);
        int[] prompt = ModelVsReferenceTest.ids(3, 24);
        try (QwenModel a = ModelLoader.load(gptq, DEQUANTIZED_FP32); QwenModel b = ModelLoader.load(fp, DEQUANTIZED_FP32);
             PromptLogits ga = new PromptLogits(a, 64);
             PromptLogits gb = new PromptLogits(b, 64)) {
            float[][] la = ga.logits(prompt, true);
            float[][] lb = gb.logits(prompt, true);
            int agree = 0;
            for (int t = 0; t < prompt.length; t++) {
                agree += ModelVsReferenceTest.argmax(la[t]) == ModelVsReferenceTest.argmax(lb[t]) ? 1 : 0;
            }
            System.out.printf("gptq dequantized vs float original, %s: top-1 %d/%d%n", arch, agree, prompt.length);
            assertTrue(agree >= prompt.length / 4, arch + ": top-1 agreement " + agree + "/" + prompt.length);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Architecture.class, names = {"QWEN", "QWEN2"})
    void actOrderCheckpointsAreDequantizedAtLoad(Architecture arch) {
        Path dir = gptq(arch, true);
        try (QwenModel m = ModelLoader.load(dir, TestDevice.options(Precision.F32))) {
            assertNotEquals(LinearKernel.INT4_PACKED, m.kernel(), "act-order g_idx cannot run the int4 kernel");
        }
        QuantAccuracy.Result r = QuantAccuracy.compare(dir, DEQUANTIZED_FP32, TestDevice.options(Precision.F32), 1, 16, 4, 5);
        assertTrue(r.maxAbsDelta() <= 1e-3, arch + ": " + r);
    }
}
