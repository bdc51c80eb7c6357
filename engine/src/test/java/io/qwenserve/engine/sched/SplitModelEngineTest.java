package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.lora.LoraAdapters;
import io.qwenserve.engine.lora.RandomAdapter;
import io.qwenserve.engine.model.DeviceMap;
import io.qwenserve.engine.model.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine serving a model split over two devices (KV blocks of each layer on its device) gives every request of a
 * continuous batch the greedy ids the same engine gives on one device: base and LoRA requests mixed, a shared prompt
 * (prefix caching), prefill chunks beside decodes and seeded sampling.
 */
@Tag(TestDevice.TAG)
class SplitModelEngineTest {
    @TempDir
    static Path tmp;

    record Ask(String id, String adapter, int[] prompt, SamplingOptions sampling) {}

    @Test
    void aSplitModelServesTheIdsOfOneDevice() throws Exception {
        Path base = TestModels.tiny(Architecture.QWEN2);
        Map<String, Path> adapters = new LinkedHashMap<>();
        adapters.put("x", RandomAdapter.write(base, tmp.resolve("x"), 8, 11));
        adapters.put("y", RandomAdapter.write(base, tmp.resolve("y"), 4, 12));
        SplittableRandom r = new SplittableRandom(5);
        int[] shared = r.ints(40, 0, 151851).toArray();
        SamplingOptions greedy = SamplingOptions.greedy(10).toBuilder().ignoreEos(true).build();
        SamplingOptions sampled = SamplingOptions.builder().maxTokens(10).ignoreEos(true).temperature(0.9).topP(0.9).seed(7L).build();
        List<Ask> asks = new ArrayList<>();
        for (String a : new String[] {null, "x", "y"}) {
            asks.add(new Ask("shared-" + a, a, shared, greedy));
            asks.add(new Ask("own-" + a, a, r.ints(30 + asks.size(), 0, 151851).toArray(), greedy));
            asks.add(new Ask("sampled-" + a, a, r.ints(7, 0, 151851).toArray(), sampled));
        }
        List<int[]> one = run(base, TestDevice.name(), adapters, asks);
        List<int[]> split = run(base, TestDevice.list(2), adapters, asks);
        for (int i = 0; i < asks.size(); i++) {
            assertArrayEquals(one.get(i), split.get(i), asks.get(i).id());
        }
    }

    private static List<int[]> run(Path base, String devices, Map<String, Path> adapters, List<Ask> asks) throws Exception {
        // a small step budget: the 40-token prompts run as prefill chunks beside other sequences' decodes
        EngineConfig config = EngineConfig.defaults().withMaxBatch(8).withMaxBatchTokens(24).withKvCacheTokens(2048)
                .withMaxModelLen(128);
        try (LoadedModel m = LoadedModel.load(base, TestDevice.options(Precision.F32).withDevice(devices));
             Engine e = new Engine(m, config, EngineListener.NONE, LoraAdapters.load(m.model(), "base", adapters, 2))) {
            assertEquals(String.join(",", DeviceMap.names(devices)), e.modelInfo().device());
            List<GenerationStream> streams = new ArrayList<>();
            for (Ask a : asks) {
                streams.add(e.submit(GenerationRequest.of(a.id(), new Prompt.Ids(a.prompt()), a.sampling()).withAdapter(a.adapter())));
            }
            List<int[]> out = new ArrayList<>();
            for (GenerationStream s : streams) {
                out.add(Completion.read(s).ids());
            }
            return out;
        }
    }
}
