package io.qwenserve.service.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineListener;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.EnumMap;
import java.util.Map;

/**
 * The engine's Prometheus metrics, named after vLLM's under the {@code qwen_} prefix: gauges of queue, batch and KV
 * usage; histograms of TTFT, inter-token and end-to-end latency; counters of tokens, preemptions and finished
 * requests by finish reason; per LoRA adapter, requests and prompt and generated tokens. Fed by the engine thread
 * through {@link EngineListener} (cheap, non-blocking).
 */
@ApplicationScoped
public class EngineMetrics implements EngineListener {
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
            0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};

    @Inject
    MeterRegistry registry;

    private DistributionSummary ttft;
    private DistributionSummary itl;
    private DistributionSummary e2e;
    private Counter promptTokens;
    private Counter generationTokens;
    private Counter preemptions;
    private Counter prefixQueries;
    private Counter prefixHits;
    private final Map<FinishReason, Counter> success = new EnumMap<>(FinishReason.class);

    @jakarta.annotation.PostConstruct
    void init() {
        ttft = histogram("qwen.time_to_first_token", "Time from request arrival to the first generated token");
        itl = histogram("qwen.inter_token_latency", "Time between consecutive generated tokens of a request");
        e2e = histogram("qwen.e2e_request_latency", "Time from request arrival to its end");
        promptTokens = Counter.builder("qwen.prompt_tokens").description("Prompt tokens processed").register(registry);
        generationTokens = Counter.builder("qwen.generation_tokens").description("Tokens generated").register(registry);
        preemptions = Counter.builder("qwen.num_preemptions").description("Sequences preempted for lack of KV blocks").register(registry);
        prefixQueries = Counter.builder("qwen.prefix_cache_queries").description("Prompt tokens looked up in the prefix cache")
                .register(registry);
        prefixHits = Counter.builder("qwen.prefix_cache_hits").description("Prompt tokens found in the prefix cache").register(registry);
        for (FinishReason r : FinishReason.values()) {
            success.put(r, Counter.builder("qwen.request_success").description("Requests finished, by finish reason")
                    .tag("finish_reason", r.wireName()).register(registry));
        }
    }

    private DistributionSummary histogram(String name, String description) {
        return DistributionSummary.builder(name).baseUnit("seconds").description(description)
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    /** Registers the gauges that read the engine's stats. */
    public void bind(Engine engine) {
        Gauge.builder("qwen.num_requests_waiting", engine, e -> e.stats().waiting())
                .description("Requests waiting to be scheduled").register(registry);
        Gauge.builder("qwen.num_requests_running", engine, e -> e.stats().running())
                .description("Requests in the running batch").register(registry);
        Gauge.builder("qwen.kv_cache_usage_perc", engine, e -> e.stats().kvUsage())
                .description("Fraction of KV-cache blocks in use (0..1)").register(registry);
        Gauge.builder("qwen.kv_cache_blocks_total", engine, e -> e.stats().kvBlocksTotal())
                .description("KV-cache blocks").register(registry);
    }

    @Override
    public void onPrefixCache(int queried, int hit) {
        prefixQueries.increment(queried);
        prefixHits.increment(hit);
    }

    @Override
    public void onFirstToken(long ttftNanos) {
        ttft.record(ttftNanos / 1e9);
        generationTokens.increment();
    }

    @Override
    public void onInterToken(long nanos) {
        itl.record(nanos / 1e9);
        generationTokens.increment();
    }

    @Override
    public void onFinished(FinishReason reason, long e2eNanos, int prompt, int completion) {
        e2e.record(e2eNanos / 1e9);
        success.get(reason).increment();
    }

    /** Per LoRA adapter: requests ended (by finish reason), prompt tokens and generated tokens. */
    @Override
    public void onAdapterFinished(String adapter, FinishReason reason, int prompt, int completion) {
        Counter.builder("qwen.lora_requests").description("Requests served with a LoRA adapter, by adapter and finish reason")
                .tag("adapter", adapter).tag("finish_reason", reason.wireName()).register(registry).increment();
        Counter.builder("qwen.lora_prompt_tokens").description("Prompt tokens of requests served with a LoRA adapter")
                .tag("adapter", adapter).register(registry).increment(prompt);
        Counter.builder("qwen.lora_generation_tokens").description("Tokens generated with a LoRA adapter")
                .tag("adapter", adapter).register(registry).increment(completion);
    }

    @Override
    public void onPreemption() {
        preemptions.increment();
    }

    @Override
    public void onPromptTokens(int tokens) {
        promptTokens.increment(tokens);
    }
}
