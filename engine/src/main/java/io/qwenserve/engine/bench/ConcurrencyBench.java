package io.qwenserve.engine.bench;

import static io.qwenserve.engine.bench.BenchFigures.putNumber;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The batching engine under closed-loop load at each concurrency level: throughput, latency percentiles, per-step
 * figures and efficiency against the matmul bound and a plain {@code torch.linear} baseline timed in the same run.
 * With several prefix-caching modes, each level runs once per mode and round (one engine per mode; the mode that goes
 * first alternates between rounds), and the modes are compared by their medians over the rounds of one run.
 *
 * @param sharedPrefix ids every prompt starts with (a shared system prompt), before {@code promptLen} random ids
 */
public final class ConcurrencyBench {
    public record Options(List<Integer> levels, int promptLen, int newTokens, int requestsPerClient, boolean baseline,
                          int sharedPrefix, List<Boolean> prefixCachingModes, int rounds) {}

    private ConcurrencyBench() {}

    public static ObjectNode run(LoadedModel m, Options opt) throws Exception {
        int maxC = opt.levels().stream().mapToInt(Integer::intValue).max().orElse(1);
        int seqLen = opt.sharedPrefix() + opt.promptLen() + opt.newTokens();
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(Math.max(maxC, 1)).withMaxBatchTokens(Math.max(512, maxC))
                .withKvCacheTokens(maxC * (seqLen + 32)).withMaxModelLen(seqLen + 16);
        int vocab = Math.min(m.tokenizer().vocabSize(), m.config().vocabSize()) - 208;
        int[] prefix = new SplittableRandom(4242).ints(opt.sharedPrefix(), 0, vocab).toArray();
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("model", m.dir().toString());
        root.put("dtype", m.model().precision().cliName());
        root.put("quantize", m.model().weightFormat());
        root.put("kernel_policy", m.model().kernelPolicy().toString());
        root.put("threads", TorchRuntime.threads());
        root.put("resident_weight_mb", m.model().residentWeightBytes() >> 20);
        root.put("rss_mb_loaded", Memory.rssBytes() >> 20);
        root.put("prompt_len", opt.promptLen());
        root.put("shared_prefix", opt.sharedPrefix());
        root.put("new_tokens", opt.newTokens());
        ArrayNode results = root.putArray("results");
        StepRecorder recorder = new StepRecorder();
        Map<Boolean, Engine> engines = new LinkedHashMap<>();
        try (BaselineLinearStack baseline = opt.baseline() ? new BaselineLinearStack(m.model()) : null) {
            for (boolean caching : opt.prefixCachingModes()) {
                Engine e = new Engine(m, cfg.toBuilder().prefixCaching(caching).build(), recorder);
                engines.put(caching, e);
                ThroughputBench.run(e, Math.min(maxC, 4), 1, prefix, opt.promptLen(), 8, vocab); // warm-up
            }
            for (int c : opt.levels()) {
                List<List<ObjectNode>> byMode = new ArrayList<>();
                engines.keySet().forEach(k -> byMode.add(new ArrayList<>()));
                for (int round = 0; round < opt.rounds(); round++) {
                    List<Boolean> order = new ArrayList<>(engines.keySet());
                    if (round % 2 == 1) {
                        Collections.reverse(order); // neither mode always runs first
                    }
                    for (boolean caching : order) {
                        ObjectNode o = level(m, engines.get(caching), recorder, baseline, c, prefix, vocab, opt);
                        o.put("prefix_caching", caching);
                        o.put("round", round);
                        results.add(o);
                        byMode.get(new ArrayList<>(engines.keySet()).indexOf(caching)).add(o);
                        System.err.println("concurrency " + c + ": " + o);
                    }
                }
                if (byMode.size() == 2) {
                    compare(root.withArray("prefix_caching_comparison").addObject().put("concurrency", c).put("rounds", opt.rounds()),
                            byMode.get(0), byMode.get(1));
                }
            }
        } finally {
            engines.values().forEach(Engine::close);
        }
        return root;
    }

    /** Caching on against off at one level: ratios of the medians over the rounds (each round runs both modes). */
    private static void compare(ObjectNode o, List<ObjectNode> on, List<ObjectNode> off) {
        o.put("output_tokens_per_s_ratio", round(median(on, "output_tokens_per_s") / median(off, "output_tokens_per_s")));
        o.put("ttft_ms_p50_lower_by", round(median(off, "ttft_ms_p50") / median(on, "ttft_ms_p50")));
        o.put("ttft_ms_p99_lower_by", round(median(off, "ttft_ms_p99") / median(on, "ttft_ms_p99")));
        o.put("itl_ms_p50_ratio", round(median(on, "itl_ms_p50") / median(off, "itl_ms_p50")));
    }

    private static double median(List<ObjectNode> runs, String field) {
        double[] v = runs.stream().mapToDouble(r -> r.get(field).asDouble()).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static ObjectNode level(LoadedModel m, Engine engine, StepRecorder recorder, BaselineLinearStack baseline, int c,
                                    int[] prefix, int vocab, Options opt) throws Exception {
        // the bound is timed before and after the level (see the single-stream case)
        LinearStackBench.Result before = LinearStackBench.run(m.model(), c, 5);
        recorder.drain();
        Linear.timeCalls(true);
        long faults0 = Memory.minorFaults();
        long rssBefore = Memory.rssBytes();
        long anonBefore = Memory.anonRssBytes();
        long heapBefore = Runtime.getRuntime().totalMemory();
        long hitsBefore = engine.stats().prefixCacheHits();
        long queriesBefore = engine.stats().prefixCacheQueries();
        ThroughputBench.Result r;
        List<MemorySampler.Sample> quarters;
        try (MemorySampler memory = new MemorySampler(500)) {
            r = ThroughputBench.run(engine, c, opt.requestsPerClient(), prefix, opt.promptLen(), opt.newTokens(), vocab);
            quarters = memory.quarters();
        }
        long rssAfter = Memory.rssBytes();
        long heapAfter = Runtime.getRuntime().totalMemory();
        long anonAfter = Memory.anonRssBytes();
        List<StepRecorder.Step> all = recorder.drain();
        List<StepRecorder.Step> decode = StepRecorder.decodeSteps(all, c);
        Linear.timeCalls(false);
        long faults = Memory.minorFaults() - faults0;
        LinearStackBench.Result after = LinearStackBench.run(m.model(), c, 5);
        double boundTps = 2 * c / (before.stepSeconds() + after.stepSeconds());
        LinearStackBench.Result base = baseline == null ? null : baseline.run(c, 5);
        ObjectNode o = new ObjectMapper().createObjectNode();
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
        o.put("prefix_cache_queries", engine.stats().prefixCacheQueries() - queriesBefore);
        o.put("prefix_cache_hits", engine.stats().prefixCacheHits() - hitsBefore);
        // decode steps that ran all C sequences: their aggregate rate (prefill and ramp-down excluded)
        putNumber(o, "decode_tokens_per_s", StepRecorder.decodeTokensPerSecond(decode));
        putStepFigures(o, decode, c / boundTps * 1e3);
        o.put("minor_faults_per_step", round((double) faults / Math.max(1, all.size())));
        o.put("matmul_bound_tokens_per_s", round(boundTps));
        o.put("efficiency", round(r.outputTokensPerSecond() / boundTps));
        // the linear layers' time for one step of C tokens over the median inter-token latency: the same ratio for a
        // steady decode step, robust to bursts of contention on a shared machine
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
        return o;
    }
}
