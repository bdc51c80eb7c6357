package io.qwenserve.engine.bench;

import static io.qwenserve.engine.bench.BenchFigures.putStepFigures;
import static io.qwenserve.engine.bench.BenchFigures.round;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One stream through the engine: prefill and decode tokens/s set against what the model's matrix products alone and
 * the machine's memory bandwidth allow, measured in the same run, with the RSS through the generation.
 */
public final class SingleStreamBench {
    private SingleStreamBench() {}

    public static ObjectNode run(LoadedModel m, int promptLen, int newTokens, boolean baselineToo) throws Exception {
        StepRecorder recorder = new StepRecorder();
        try (Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withMaxBatchTokens(Math.max(512, promptLen))
                     .withKvCacheTokens(promptLen + newTokens + 64).withMaxModelLen(promptLen + newTokens + 16), recorder)) {
            int vocab = Math.min(m.tokenizer().vocabSize(), m.config().vocabSize()) - 208;
            SplittableRandom r = new SplittableRandom(42);
            int[] prompt = r.ints(promptLen, 0, vocab).toArray();
            // warm-up: a short run (first calls initialise kernels and allocators)
            ThroughputBench.generate(engine, "warm-up", prompt, 8);
            // the bound is timed right before and right after the generation; on a shared machine a burst of
            // contention then hits one of them, and the median decode step is compared with their mean
            LinearStackBench.Result before = LinearStackBench.run(m.model(), 1, 10);
            long rssWarm = Memory.rssBytes();
            long anonWarm = Memory.anonRssBytes();
            long heapWarm = Runtime.getRuntime().totalMemory();
            recorder.drain();
            Linear.timeCalls(true);
            long faults0 = Memory.minorFaults();
            int generated;
            List<MemorySampler.Sample> quarters; // RSS through the generation: a step or a slope
            try (MemorySampler memory = new MemorySampler(250)) {
                generated = ThroughputBench.generate(engine, "bench", prompt, newTokens);
                quarters = memory.quarters();
            }
            List<StepRecorder.Step> steps = recorder.drain();
            Linear.timeCalls(false);
            long faults = Memory.minorFaults() - faults0;
            long rssEnd = Memory.rssBytes();
            long anonEnd = Memory.anonRssBytes();
            long heapEnd = Runtime.getRuntime().totalMemory();
            LinearStackBench.Result after = LinearStackBench.run(m.model(), 1, 10);
            double linearMs = (before.stepSeconds() + after.stepSeconds()) / 2 * 1e3;
            double boundTps = 1e3 / linearMs;
            // the prompt's steps (no decode among them; the last one samples the first token), then one-token steps
            long prefillNanos = steps.stream().filter(st -> st.numDecode() == 0).mapToLong(StepRecorder.Step::stepNanos).sum();
            List<StepRecorder.Step> decode = StepRecorder.decodeSteps(steps, 1);
            double prefillTps = promptLen / (prefillNanos / 1e9);
            double decodeTps = StepRecorder.decodeTokensPerSecond(decode);
            double stepMs = StepRecorder.medianStepMs(decode);
            double medianStepTps = 1e3 / stepMs;
            long rssModel = Memory.rssBytes();
            LinearStackBench.Result baseline = null;
            if (baselineToo) {
                try (BaselineLinearStack b = new BaselineLinearStack(m.model())) {
                    baseline = b.run(1, 10);
                }
            }
            double bandwidth = Memory.readBandwidthBytesPerSecond();
            long weightBytes = m.model().weightBytesPerStep();

            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("model", m.dir().toString());
            o.put("architecture", m.config().architecture().hfClass());
            o.put("dtype", m.model().precision().cliName());
            o.put("device", m.model().devices().spec());
            o.put("quantize", m.model().weightFormat());
            o.put("kernel_policy", m.model().kernelPolicy().toString());
            o.put("kernel", m.model().kernel().name());
            o.put("threads", TorchRuntime.threads());
            o.put("prompt_len", promptLen);
            o.put("new_tokens", generated);
            o.put("prefill_tokens_per_s", round(prefillTps));
            o.put("decode_tokens_per_s", round(decodeTps));
            o.put("decode_tokens_per_s_median_step", round(medianStepTps));
            o.put("matmul_bound_tokens_per_s", round(boundTps));
            o.put("efficiency", round(decodeTps / boundTps));
            o.put("efficiency_median_step", round(medianStepTps / boundTps)); // robust to bursts of contention
            putStepFigures(o, decode, linearMs);
            o.put("minor_faults_per_step", round((double) faults / Math.max(1, steps.size())));
            if (baseline != null) {
                o.put("baseline_linear_tokens_per_s", round(baseline.tokensPerSecond()));
                o.put("speedup_vs_baseline", round(decodeTps / baseline.tokensPerSecond()));
            }
            o.put("weight_bytes_per_token", weightBytes);
            o.put("resident_weight_mb", m.model().residentWeightBytes() >> 20);
            o.put("memory_read_gb_per_s", round(bandwidth / 1e9));
            o.put("bandwidth_fraction", round(weightBytes * decodeTps / bandwidth));
            o.put("rss_mb_after_warmup", rssWarm >> 20);
            o.put("rss_mb_model", rssModel >> 20);
            o.put("rss_mb_end", rssEnd >> 20);
            o.put("rss_growth_pct", round(100.0 * (rssEnd - rssWarm) / rssWarm));
            ArrayNode rssQ = o.putArray("rss_mb_by_quarter");
            quarters.forEach(q -> rssQ.add(q.rssBytes() >> 20));
            long firstQuarter = quarters.get(0).rssBytes();
            o.put("rss_growth_after_first_quarter_pct", round(100.0 * (rssEnd - firstQuarter) / firstQuarter));
            o.put("anon_rss_mb_after_warmup", anonWarm >> 20);
            o.put("anon_rss_mb_end", anonEnd >> 20);
            o.put("anon_rss_growth_pct", round(100.0 * (anonEnd - anonWarm) / anonWarm));
            // RSS less the committed Java heap approximates the native side (libtorch tensors, allocator caches): a JVM
            // that grows its heap after the warm-up shows in rss_growth_pct but not here
            o.put("java_heap_committed_mb_after_warmup", heapWarm >> 20);
            o.put("java_heap_committed_mb_end", heapEnd >> 20);
            o.put("native_rss_growth_pct", round(100.0 * ((rssEnd - heapEnd) - (rssWarm - heapWarm)) / (rssWarm - heapWarm)));
            return o;
        }
    }
}
