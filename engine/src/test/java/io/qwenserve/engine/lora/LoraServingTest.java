package io.qwenserve.engine.lora;

import static io.qwenserve.engine.TestLogits.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.LinearKernel;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.PromptLogits;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import io.qwenserve.engine.train.AdapterConfig;
import io.qwenserve.engine.train.LoraMerger;
import io.qwenserve.engine.train.LoraModules;
import io.qwenserve.engine.train.LoraPair;
import io.qwenserve.engine.train.PeftAdapter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * LoRA adapters served per row by the engine: the adapted forward pass equals the merged weights' (fp32, max |Δlogit|
 * ≤ 1e-4) for Qwen v1, Qwen2 and Qwen3; base and two adapters in one batch give each request the greedy ids it gets
 * alone; an adapter set larger than memory holds is swapped in and out; unknown names are refused.
 */
class LoraServingTest {
    static final ModelOptions FP32 = ModelOptions.of(Precision.F32).withKernel(LinearKernel.PLAIN);

    @TempDir
    static Path tmp;

    /** A random adapter (B not zero) on the architecture's default targets, written in PEFT's layout. */
    static Path adapter(Architecture arch, String name, long seed) {
        Path base = TestModels.tiny(arch);
        Path dir = tmp.resolve(arch.modelType() + "-" + name);
        if (java.nio.file.Files.exists(dir.resolve(PeftAdapter.WEIGHTS))) {
            return dir;
        }
        ModelConfig cfg = ModelConfig.load(base);
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        torch.manual_seed(seed);
        for (LoraModules.Module m : LoraModules.select(cfg, LoraModules.defaultTargets(arch))) {
            LoraPair p = LoraPair.init(m.in(), m.out(), 8, 16.0 / 8, 0.05);
            try (NoGradGuard g = new NoGradGuard()) {
                p.b().copy_(torch.randn(m.out(), 8).mul(new Scalar(0.05)));
            }
            pairs.put(m.name(), p);
        }
        try (PeftAdapter a = new PeftAdapter(new AdapterConfig(8, 16, 0.05, LoraModules.defaultTargets(arch), base.toString(), false),
                pairs)) {
            a.write(dir);
        }
        return dir;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void anAdapterAppliedPerRowEqualsItsMergedWeights(Architecture arch) {
        Path base = TestModels.tiny(arch);
        Path adapter = adapter(arch, "a", 5);
        Path merged = tmp.resolve(arch.modelType() + "-merged");
        LoraMerger.merge(base, adapter, merged);
        int[] prompt = new SplittableRandom(arch.ordinal()).ints(24, 0, 151851).toArray();
        float[][] served;
        float[][] plain;
        try (LoadedModel m = LoadedModel.load(base, FP32); PromptLogits g = new PromptLogits(m.model(), 64);
             LoraAdapters adapters = LoraAdapters.load(m.model(), "base", Map.of("a", adapter), 1)) {
            served = g.logits(prompt, true, adapters.weights("a", Set.of()));
            plain = g.logits(prompt, true);
        }
        float[][] expected;
        try (LoadedModel m = LoadedModel.load(merged, FP32); PromptLogits g = new PromptLogits(m.model(), 64)) {
            expected = g.logits(prompt, true);
        }
        double diff = maxAbsDiff(served, expected);
        double moved = maxAbsDiff(plain, expected);
        System.out.printf("%s: served LoRA vs merged weights %.2e (the adapter moves logits by %.3f)%n", arch, diff, moved);
        assertTrue(diff <= 1e-4, arch + ": " + diff);
        assertTrue(moved > 0.01, arch + ": the adapter should change the logits");
    }

    record Ask(String id, String adapter, int[] prompt) {}

    static List<int[]> run(Engine e, List<Ask> asks) throws InterruptedException {
        List<GenerationStream> streams = new ArrayList<>();
        for (Ask a : asks) {
            streams.add(e.submit(GenerationRequest.of(a.id(), new Prompt.Ids(a.prompt()),
                    SamplingOptions.greedy(10).toBuilder().ignoreEos(true).build()).withAdapter(a.adapter())));
        }
        List<int[]> out = new ArrayList<>();
        for (GenerationStream s : streams) {
            out.add(Completion.read(s).ids());
        }
        return out;
    }

    static Engine engine(Path base, int maxBatch, int maxLoaded, Map<String, Path> adapters) {
        LoadedModel m = LoadedModel.load(base, FP32);
        return new Engine(m, EngineConfig.defaults().withMaxBatch(maxBatch).withKvCacheTokens(4096).withMaxModelLen(256),
                EngineListener.NONE, LoraAdapters.load(m.model(), "base", adapters, maxLoaded));
    }

    @Test
    void baseAndTwoAdaptersInOneBatchGiveEachRequestItsOwnGreedyIds() throws Exception {
        Architecture arch = Architecture.QWEN2;
        Path base = TestModels.tiny(arch);
        Map<String, Path> adapters = new LinkedHashMap<>();
        adapters.put("x", adapter(arch, "x", 11));
        adapters.put("y", adapter(arch, "y", 12));
        SplittableRandom r = new SplittableRandom(3);
        int[] shared = r.ints(40, 0, 151851).toArray(); // the same prompt for all three: prefix caches must not mix
        List<Ask> asks = new ArrayList<>();
        for (String a : new String[] {null, "x", "y"}) {
            asks.add(new Ask("shared-" + a, a, shared));
            asks.add(new Ask("own-" + a, a, r.ints(9 + asks.size(), 0, 151851).toArray()));
        }
        List<int[]> alone = new ArrayList<>();
        try (Engine e = engine(base, 1, 2, adapters)) {
            for (Ask a : asks) {
                alone.add(run(e, List.of(a)).get(0));
            }
        }
        List<int[]> batched;
        try (Engine e = engine(base, 8, 2, adapters)) {
            batched = run(e, asks);
        }
        for (int i = 0; i < asks.size(); i++) {
            assertArrayEquals(alone.get(i), batched.get(i), asks.get(i).id() + ": batched with others vs alone");
        }
        assertFalse(java.util.Arrays.equals(alone.get(0), alone.get(2)), "adapter x should change the shared prompt's output");
        assertFalse(java.util.Arrays.equals(alone.get(2), alone.get(4)), "x and y should differ");
    }

    @Test
    void moreAdaptersThanMemoryHoldsAreSwappedInAndOut() throws Exception {
        Architecture arch = Architecture.QWEN2;
        Path base = TestModels.tiny(arch);
        Map<String, Path> adapters = new LinkedHashMap<>();
        adapters.put("x", adapter(arch, "x", 11));
        adapters.put("y", adapter(arch, "y", 12));
        int[] prompt = new SplittableRandom(8).ints(12, 0, 151851).toArray();
        List<Ask> asks = List.of(new Ask("x1", "x", prompt), new Ask("y1", "y", prompt), new Ask("b", null, prompt),
                new Ask("x2", "x", prompt), new Ask("y2", "y", prompt));
        List<int[]> roomy;
        try (Engine e = engine(base, 8, 2, adapters)) {
            roomy = run(e, asks);
        }
        try (Engine e = engine(base, 8, 1, adapters)) { // one adapter in memory at a time
            List<int[]> tight = run(e, asks);
            for (int i = 0; i < asks.size(); i++) {
                assertArrayEquals(roomy.get(i), tight.get(i), asks.get(i).id());
            }
        }
        assertArrayEquals(roomy.get(0), roomy.get(3));
    }

    @Test
    void unknownAdaptersAreRefusedAndAdaptersThatDoNotFitAreRefusedAtLoad() {
        Path base = TestModels.tiny(Architecture.QWEN2);
        try (Engine e = engine(base, 4, 1, Map.of("x", adapter(Architecture.QWEN2, "x", 11)))) {
            EngineRejectedException ex = assertThrows(EngineRejectedException.class, () -> e.submit(GenerationRequest.of("u",
                    new Prompt.Ids(new int[] {1, 2, 3}), SamplingOptions.greedy(2)).withAdapter("nope")));
            assertEquals(EngineRejectedException.Reason.UNKNOWN_ADAPTER, ex.reason());
            assertTrue(ex.getMessage().contains("'nope'"), ex.getMessage());
            assertEquals(List.of("x"), e.adapters().stream().map(io.qwenserve.engine.api.AdapterInfo::name).toList());
        }
        // a Qwen v1 adapter does not fit a Qwen2 base: refused at load, the tensor named
        try (LoadedModel m = LoadedModel.load(base, FP32)) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> LoraAdapters.load(m.model(), "base", Map.of("v1", adapter(Architecture.QWEN, "a", 5)), 1));
            assertTrue(ex.getMessage().contains("'v1'") && ex.getMessage().contains("transformer.h.0.attn.c_attn.lora_A.weight"),
                    ex.getMessage());
        }
    }
}
