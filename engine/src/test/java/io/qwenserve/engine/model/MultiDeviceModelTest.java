package io.qwenserve.engine.model;

import static io.qwenserve.engine.TestLogits.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.lora.LoraAdapters;
import io.qwenserve.engine.lora.RandomAdapter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A model split over a list of devices ({@link DeviceMap}) gives the logits of the same model on one device: every
 * family (Qwen2/3 with the tied head on the last stage), an uneven split, one layer per stage, Qwen v1 with dynamic
 * NTK and logN (per-stage RoPE tables), steps that mix prefill chunks and decodes over the paged cache, GPTQ Int4 on
 * its kernel and a LoRA adapter (per-layer adapter weights). On the CPU the list is {@code cpu,cpu,...}: the same
 * operations on the same device, so the logits must be bitwise equal; on CUDA ({@code bin/test --gpu}) the list names
 * distinct GPUs where there are enough, within 1e-4.
 */
@Tag(TestDevice.TAG)
class MultiDeviceModelTest {
    @TempDir
    static Path tmp;

    static double tolerance() {
        return TestDevice.name().startsWith("cuda") ? 1e-4 : 0.0;
    }

    static Stream<Arguments> splits() {
        List<Arguments> out = new ArrayList<>();
        for (Architecture a : Architecture.values()) {
            out.add(Arguments.of(a.modelType() + "-5layers", RandomCheckpoint.Spec.tiny(a).withLayers(5), 2));
        }
        out.add(Arguments.of("qwen2-5layers", RandomCheckpoint.Spec.tiny(Architecture.QWEN2).withLayers(5), 3));
        out.add(Arguments.of("qwen3-5layers", RandomCheckpoint.Spec.tiny(Architecture.QWEN3).withLayers(5), 5));
        // Qwen v1 with a 16-token training context: the 40-token prompt runs with NTK alpha 3 and logN scales
        out.add(Arguments.of("qwen-s16-5layers", RandomCheckpoint.Spec.tiny(Architecture.QWEN).withLayers(5).withSeqLength(16), 3));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} over {2} devices")
    @MethodSource("splits")
    void aSplitModelGivesTheLogitsOfOneDevice(String name, RandomCheckpoint.Spec spec, int stages) {
        Path dir = TestModels.get(name, spec);
        String list = TestDevice.list(stages);
        ModelOptions one = TestDevice.options(Precision.F32);
        try (QwenModel a = ModelLoader.load(dir, one); QwenModel b = ModelLoader.load(dir, one.withDevice(list))) {
            assertEquals(stages, b.devices().stages());
            assertEquals(list, b.devices().spec());
            int[] prompt = ModelVsReferenceTest.ids(name.hashCode(), 40);
            try (PromptLogits ga = new PromptLogits(a, 64); PromptLogits gb = new PromptLogits(b, 64)) {
                long moves = Transfers.betweenDevices();
                assertSameLogits(ga.logits(prompt, true), gb.logits(prompt, true), name + " every prompt position");
                assertEquals(stages - 1, Transfers.betweenDevices() - moves, "the hidden state moves once between stages");
            }
            mixedStepsThroughThePagedCache(a, b, name);
        }
    }

    /** Three steps over a cache whose blocks are out of order: a prefill; a decode beside a prefill chunk; two decodes. */
    private static void mixedStepsThroughThePagedCache(QwenModel a, QwenModel b, String name) {
        int[] x = ModelVsReferenceTest.ids(1, 20);
        int[] y = ModelVsReferenceTest.ids(2, 30);
        int[] xBlocks = {5, 2, 7, 11};
        int[] yBlocks = {0, 3, 9, 12, 4};
        double ax = a.rope().ntkAlpha(11);
        double ay = a.rope().ntkAlpha(25);
        List<ForwardBatch> steps = List.of(
                batch(new int[][] {slice(x, 0, 11)}, new int[] {11}, new int[][] {xBlocks}, new double[] {ax}),
                batch(new int[][] {slice(x, 11, 1), slice(y, 0, 25)}, new int[] {12, 25}, new int[][] {xBlocks, yBlocks},
                        new double[] {ax, ay}),
                batch(new int[][] {slice(x, 12, 1), slice(y, 25, 1)}, new int[] {13, 26}, new int[][] {xBlocks, yBlocks},
                        new double[] {ax, ay}));
        try (PagedKvCache ca = new PagedKvCache(a.config(), 16, 8, Precision.F32, a.devices());
             PagedKvCache cb = new PagedKvCache(b.config(), 16, 8, Precision.F32, b.devices())) {
            for (int s = 0; s < steps.size(); s++) {
                assertSameLogits(ModelVsReferenceTest.rows(a.forward(steps.get(s), ca)),
                        ModelVsReferenceTest.rows(b.forward(steps.get(s), cb)), name + " step " + s);
            }
        }
    }

    @Test
    void gptqInt4OnASplitModelGivesTheLogitsOfOneDevice() {
        Path dir = TestModels.get("gptq-" + Architecture.QWEN2.modelType(),
                RandomCheckpoint.Spec.tiny(Architecture.QWEN2).withDtype(DType.F16), new RandomCheckpoint.Gptq(32, false));
        ModelOptions one = TestDevice.options(Precision.F32);
        try (QwenModel a = ModelLoader.load(dir, one); QwenModel b = ModelLoader.load(dir, one.withDevice(TestDevice.list(2)));
             PromptLogits ga = new PromptLogits(a, 64); PromptLogits gb = new PromptLogits(b, 64)) {
            assertEquals(LinearKernel.INT4_PACKED, b.kernel());
            int[] prompt = ModelVsReferenceTest.ids(4, 24);
            assertSameLogits(ga.logits(prompt, true), gb.logits(prompt, true), "gptq");
        }
    }

    @Test
    void aLoraAdapterOnASplitModelGivesTheLogitsOfOneDevice() {
        Path base = TestModels.tiny(Architecture.QWEN2);
        Path adapter = RandomAdapter.write(base, tmp.resolve("adapter"), 8, 7);
        ModelOptions one = TestDevice.options(Precision.F32);
        int[] prompt = ModelVsReferenceTest.ids(6, 24);
        try (QwenModel a = ModelLoader.load(base, one); QwenModel b = ModelLoader.load(base, one.withDevice(TestDevice.list(2)));
             LoraAdapters la = LoraAdapters.load(a, "base", Map.of("x", adapter), 1);
             LoraAdapters lb = LoraAdapters.load(b, "base", Map.of("x", adapter), 1);
             PromptLogits ga = new PromptLogits(a, 64); PromptLogits gb = new PromptLogits(b, 64)) {
            float[][] expected = ga.logits(prompt, true, la.weights("x", Set.of()));
            assertSameLogits(expected, gb.logits(prompt, true, lb.weights("x", Set.of())), "lora");
            assertTrue(maxAbsDiff(expected, ga.logits(prompt, true)) > 0.01, "the adapter changes the logits");
        }
    }

    /**
     * Every tensor where the device list puts it: weights (checked at load), KV pools, LoRA weights, logits. On the
     * CPU every name is {@code cpu}; this is the check that tells a misplaced tensor on two GPUs.
     */
    @Test
    void everyTensorIsOnItsLayersDevice() {
        Path base = TestModels.get("qwen2-5layers", RandomCheckpoint.Spec.tiny(Architecture.QWEN2).withLayers(5));
        Path adapter = RandomAdapter.write(base, tmp.resolve("adapter-5layers"), 4, 3);
        try (QwenModel m = ModelLoader.load(base, TestDevice.options(Precision.F32).withDevice(TestDevice.list(2)));
             PagedKvCache cache = new PagedKvCache(m.config(), 4, 8, Precision.F32, m.devices());
             LoraAdapters lora = LoraAdapters.load(m, "base", Map.of("x", adapter), 1);
             org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            m.checkPlacement();
            DeviceMap d = m.devices();
            for (int i = 0; i < 5; i++) {
                String expected = d.name(d.stageOf(i));
                assertEquals(expected, cache.rows(i).device().str().getString(), "KV pool of layer " + i);
                for (io.qwenserve.engine.lora.LoraWeights.Target t : io.qwenserve.engine.lora.LoraWeights.Target.values()) {
                    io.qwenserve.engine.lora.LoraWeights.Pair p = lora.weights("x", Set.of()).pair(i, t);
                    assertEquals(expected, p.a().device().str().getString(), "LoRA A of layer " + i + " " + t);
                    assertEquals(expected, p.parts().get(0).bT().device().str().getString(), "LoRA B of layer " + i + " " + t);
                }
            }
            ForwardBatch one = new ForwardBatch(new int[] {1, 2, 3}, List.of(new ForwardBatch.Slice(3, 3, new int[] {0},
                    1.0, ForwardBatch.Logits.LAST)));
            try (org.bytedeco.pytorch.Tensor logits = m.forward(one, cache)) {
                assertEquals(d.name(d.stages() - 1), logits.device().str().getString(), "logits on the last device");
            }
        }
    }

    @Test
    void aListLongerThanTheLayersIsRefusedAtLoad() {
        Path dir = TestModels.tiny(Architecture.QWEN2); // 2 layers
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelLoader.load(dir, ModelOptions.of(Precision.F32).withDevice("cpu,cpu,cpu")));
        assertTrue(e.getMessage().contains("3 devices for 2 decoder layers"), e.getMessage());
    }

    private static void assertSameLogits(float[][] expected, float[][] got, String where) {
        assertEquals(expected.length, got.length, where + ": rows");
        double diff = maxAbsDiff(expected, got);
        assertTrue(diff <= tolerance(), where + ": max |Δlogit| " + diff + " > " + tolerance());
    }

    private static int[] slice(int[] ids, int from, int n) {
        return java.util.Arrays.copyOfRange(ids, from, from + n);
    }

    private static ForwardBatch batch(int[][] tokens, int[] contextLens, int[][] blocks, double[] alphas) {
        List<ForwardBatch.Slice> slices = new ArrayList<>();
        int total = 0;
        for (int[] t : tokens) {
            total += t.length;
        }
        int[] all = new int[total];
        int at = 0;
        for (int s = 0; s < tokens.length; s++) {
            System.arraycopy(tokens[s], 0, all, at, tokens[s].length);
            at += tokens[s].length;
            slices.add(new ForwardBatch.Slice(tokens[s].length, contextLens[s], blocks[s], alphas[s], ForwardBatch.Logits.LAST));
        }
        return new ForwardBatch(all, slices);
    }
}
