package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.bench.BaselineLinearStack;
import io.qwenserve.engine.bench.LinearStackBench;
import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.bench.MemorySampler;
import io.qwenserve.engine.bench.StepRecorder;
import io.qwenserve.engine.bench.ThroughputBench;
import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen bench}: single-stream prefill and decode speed, set against what the model's matrix products alone
 * and the machine's memory bandwidth allow, measured in the same run.
 */
@Command(name = "bench", description = "Measure prefill/decode tokens/s against the matmul bound and memory bandwidth.")
final class BenchCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;

    @Option(names = "--prompt-len", defaultValue = "128") int promptLen;
    @Option(names = "--new-tokens", defaultValue = "128") int newTokens;
    @Option(names = "--format", defaultValue = "json", description = "json") String format;

    @Option(names = "--concurrency", split = ",", description = "Concurrency levels (e.g. 1,8,32): run the batching engine "
            + "under closed-loop load at each and report throughput, latency percentiles and efficiency.")
    List<Integer> concurrency;

    @Option(names = "--load-only", description = "Load the model, report its memory (resident, peak, weights) and exit.")
    boolean loadOnly;

    @Option(names = "--no-baseline", description = "Skip the plain torch.linear baseline (it holds one more copy of the linear weights).")
    boolean noBaseline;

    @Option(names = "--requests-per-client", defaultValue = "2", description = "Requests each client sends (with --concurrency).")
    int requestsPerClient;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("json")) {
            throw new IllegalArgumentException("--format must be json");
        }
        if (loadOnly) {
            return loadOnly();
        }
        if (concurrency != null) {
            return concurrent();
        }
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        StepRecorder recorder = new StepRecorder();
        try (LoadedModel m = modelArgs.load();
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withMaxBatchTokens(Math.max(512, promptLen))
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
            int generated;
            List<MemorySampler.Sample> quarters; // RSS through the generation: a step or a slope
            try (MemorySampler memory = new MemorySampler(250)) {
                generated = ThroughputBench.generate(engine, "bench", prompt, newTokens);
                quarters = memory.quarters();
            }
            List<StepRecorder.Step> steps = recorder.drain();
            Linear.timeCalls(false);
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
            if (!noBaseline) {
                try (BaselineLinearStack b = new BaselineLinearStack(m.model())) {
                    baseline = b.run(1, 10);
                }
            }
            double bandwidth = Memory.readBandwidthBytesPerSecond();
            long weightBytes = m.model().weightBytesPerStep();

            ObjectNode o = om.createObjectNode();
            o.put("model", m.dir().toString());
            o.put("architecture", m.config().architecture().hfClass());
            o.put("dtype", m.model().precision().cliName());
            o.put("device", modelArgs.device);
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
            System.out.println(o.toPrettyString());
        }
        return 0;
    }

    /**
     * Per-step figures of the pure decode steps of one batch size (medians): the engine step, the model runner (forward
     * pass and sampling), the linear layers within the step, and what the step spends outside them (attention, norms,
     * RoPE, the KV cache, sampling, scheduling, detokenizing), each step less its own linear time. {@code boundMs} is
     * the matmul bound's step at that batch (the linear stack alone, timed outside the engine).
     */
    static void putStepFigures(ObjectNode o, List<StepRecorder.Step> decode, double boundMs) {
        o.put("decode_steps", decode.size());
        putNumber(o, "step_ms_p50", StepRecorder.medianStepMs(decode));
        putNumber(o, "forward_ms_p50", StepRecorder.medianForwardMs(decode));
        putNumber(o, "linear_ms_p50", StepRecorder.medianLinearMs(decode));
        putNumber(o, "linear_ms_bound", boundMs);
        putNumber(o, "step_ms_outside_linears", StepRecorder.medianStepMsOutsideLinears(decode));
        putNumber(o, "forward_ms_outside_linears", StepRecorder.medianForwardMsOutsideLinears(decode));
    }

    /** A rounded number, or null when it could not be measured (no step of that kind ran). */
    static void putNumber(ObjectNode o, String name, double v) {
        if (Double.isNaN(v)) {
            o.putNull(name);
        } else {
            o.put(name, round(v));
        }
    }

    /** Memory of a mode: RSS after load, peak RSS during load (VmHWM), and the bytes of the tensors the model keeps. */
    private int loadOnly() {
        long rssStart = Memory.rssBytes();
        long t0 = System.nanoTime();
        try (LoadedModel m = modelArgs.load()) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("model", m.dir().toString());
            o.put("dtype", m.model().precision().cliName());
            o.put("quantize", m.model().weightFormat());
            o.put("kernel_policy", m.model().kernelPolicy().toString());
            o.put("threads", TorchRuntime.threads());
            o.put("load_s", round((System.nanoTime() - t0) / 1e9));
            o.put("rss_mb_before_load", rssStart >> 20);
            o.put("rss_mb_loaded", Memory.rssBytes() >> 20);
            o.put("peak_rss_mb", Memory.peakRssBytes() >> 20);
            o.put("resident_weight_mb", m.model().residentWeightBytes() >> 20);
            o.put("checkpoint_mb", checkpointBytes(m.dir()) >> 20);
            System.out.println(o.toPrettyString());
        }
        return 0;
    }

    private static long checkpointBytes(java.nio.file.Path dir) {
        try (var s = java.nio.file.Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    private int concurrent() throws Exception {
        int maxC = concurrency.stream().mapToInt(Integer::intValue).max().orElse(1);
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        try (LoadedModel m = modelArgs.load()) {
            EngineConfig cfg = EngineConfig.defaults().withMaxBatch(Math.max(maxC, 1))
                    .withMaxBatchTokens(Math.max(512, maxC)).withKvCacheTokens(maxC * (promptLen + newTokens + 32))
                    .withMaxModelLen(promptLen + newTokens + 16);
            int vocab = Math.min(m.tokenizer().vocabSize(), m.config().vocabSize()) - 208;
            root.put("model", m.dir().toString());
            root.put("dtype", m.model().precision().cliName());
            root.put("quantize", m.model().weightFormat());
            root.put("kernel_policy", m.model().kernelPolicy().toString());
            root.put("threads", TorchRuntime.threads());
            root.put("resident_weight_mb", m.model().residentWeightBytes() >> 20);
            root.put("rss_mb_loaded", Memory.rssBytes() >> 20);
            root.put("prompt_len", promptLen);
            root.put("new_tokens", newTokens);
            ArrayNode results = root.putArray("results");
            StepRecorder recorder = new StepRecorder();
            try (Engine engine = new Engine(m, cfg, recorder);
                 BaselineLinearStack baseline = noBaseline ? null : new BaselineLinearStack(m.model())) {
                ThroughputBench.run(engine, Math.min(maxC, 4), 1, promptLen, 8, vocab); // warm-up
                for (int c : concurrency) {
                    // the bound is timed before and after the level (see the single-stream case)
                    LinearStackBench.Result before = LinearStackBench.run(m.model(), c, 5);
                    recorder.drain();
                    Linear.timeCalls(true);
                    long rssBefore = Memory.rssBytes();
                    long anonBefore = Memory.anonRssBytes();
                    long heapBefore = Runtime.getRuntime().totalMemory();
                    ThroughputBench.Result r;
                    List<MemorySampler.Sample> quarters;
                    try (MemorySampler memory = new MemorySampler(500)) {
                        r = ThroughputBench.run(engine, c, requestsPerClient, promptLen, newTokens, vocab);
                        quarters = memory.quarters();
                    }
                    long rssAfter = Memory.rssBytes();
                    long heapAfter = Runtime.getRuntime().totalMemory();
                    long anonAfter = Memory.anonRssBytes();
                    List<StepRecorder.Step> decode = StepRecorder.decodeSteps(recorder.drain(), c);
                    Linear.timeCalls(false);
                    LinearStackBench.Result after = LinearStackBench.run(m.model(), c, 5);
                    double boundTps = 2 * c / (before.stepSeconds() + after.stepSeconds());
                    LinearStackBench.Result base = baseline == null ? null : baseline.run(c, 5);
                    ObjectNode o = results.addObject();
                    o.put("concurrency", c);
                    o.put("kernel", m.model().kernelFor(c).name());
                    o.put("requests", r.requests());
                    o.put("output_tokens", r.outputTokens());
                    o.put("output_tokens_per_s", round(r.outputTokensPerSecond()));
                    o.put("ttft_ms_p50", round(ThroughputBench.percentile(r.ttftMs(), 50)));
                    o.put("ttft_ms_p99", round(ThroughputBench.percentile(r.ttftMs(), 99)));
                    o.put("itl_ms_p50", round(ThroughputBench.percentile(r.itlMs(), 50)));
                    o.put("itl_ms_p99", round(ThroughputBench.percentile(r.itlMs(), 99)));
                    o.put("kv_usage_max", round(r.kvUsageMax()));
                    // decode steps that ran all C sequences: their aggregate rate (prefill and ramp-down excluded)
                    putNumber(o, "decode_tokens_per_s", StepRecorder.decodeTokensPerSecond(decode));
                    putStepFigures(o, decode, c / boundTps * 1e3);
                    o.put("matmul_bound_tokens_per_s", round(boundTps));
                    o.put("efficiency", round(r.outputTokensPerSecond() / boundTps));
                    // the linear layers' time for one step of C tokens over the median inter-token latency: the same
                    // ratio for a steady decode step, robust to bursts of contention on a shared machine
                    o.put("step_efficiency", round(c / boundTps / (ThroughputBench.percentile(r.itlMs(), 50) / 1e3)));
                    if (base != null) {
                        o.put("baseline_linear_tokens_per_s", round(base.tokensPerSecond()));
                        o.put("speedup_vs_baseline", round(r.outputTokensPerSecond() / base.tokensPerSecond()));
                    }
                    o.put("rss_mb_before", rssBefore >> 20);
                    o.put("rss_mb_after", rssAfter >> 20);
                    o.put("anon_rss_mb_before", anonBefore >> 20);
                    o.put("anon_rss_mb_after", anonAfter >> 20);
                    o.put("java_heap_committed_mb_before", heapBefore >> 20);
                    o.put("java_heap_committed_mb_after", heapAfter >> 20);
                    ArrayNode rssQ = o.putArray("rss_mb_by_quarter");
                    ArrayNode heapQ = o.putArray("java_heap_committed_mb_by_quarter");
                    for (MemorySampler.Sample q : quarters) {
                        rssQ.add(q.rssBytes() >> 20);
                        heapQ.add(q.heapBytes() >> 20);
                    }
                    System.err.println("concurrency " + c + ": " + o);
                }
            }
        }
        System.out.println(root.toPrettyString());
        return 0;
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
