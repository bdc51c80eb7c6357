package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.lora.LoraAdapters;
import io.qwenserve.engine.lora.LoraBench;
import io.qwenserve.engine.lora.RandomAdapter;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen lora-bench}: aggregate tokens/s of requests spread over several LoRA adapters against requests for the
 * base model alone, on one engine, rounds alternating (base, mixed, base, mixed, ...).
 */
@Command(name = "lora-bench", description = "Aggregate decode tokens/s with requests spread over N random LoRA adapters "
        + "against base-only requests, same engine, alternating rounds; prints one JSON object.")
final class LoraBenchCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;

    @Option(names = "--adapters", defaultValue = "4", description = "Adapters the mixed rounds spread requests over (default ${DEFAULT-VALUE}).")
    int adapters;

    @Option(names = "--lora-r", defaultValue = "64", description = "Rank of the random adapters (default ${DEFAULT-VALUE}, the finetune default).")
    int rank;

    @Option(names = "--concurrency", defaultValue = "32", description = "Clients, each with one request in flight (default ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--requests-per-client", defaultValue = "2", description = "Requests each client sends per round (default ${DEFAULT-VALUE}).")
    int requestsPerClient;

    @Option(names = "--prompt-len", defaultValue = "32", description = "Prompt tokens (default ${DEFAULT-VALUE}).")
    int promptLen;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Tokens generated per request (default ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds of each kind (default ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        TorchRuntime.init(modelArgs.threads); // before the adapters are made: JavaCPP is set up first
        Path tmp = Files.createTempDirectory("qwen-lora-bench");
        try {
            return run(tmp);
        } finally { // the random adapters (hundreds of MB at the 0.5B shape) go with the run
            try (java.util.stream.Stream<Path> files = Files.walk(tmp)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private int run(Path tmp) throws Exception {
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (int i = 0; i < adapters; i++) {
            dirs.put("bench-" + i, RandomAdapter.write(modelArgs.model, tmp.resolve("bench-" + i), rank, 1000 + i));
        }
        List<String> names = new ArrayList<>(dirs.keySet());
        ObjectMapper om = new ObjectMapper();
        ObjectNode out = om.createObjectNode();
        try (LoadedModel m = modelArgs.load();
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(concurrency).withQueueSize(Math.max(1024, 4 * concurrency)),
                     EngineListener.NONE, LoraAdapters.load(m.model(), m.info(0).name(), dirs, Math.max(1, adapters)))) {
            int vocab = Math.min(m.config().vocabSize(), 151643);
            LoraBench.run(engine, names, Math.min(4, concurrency), 1, promptLen, 8, vocab); // warm-up, adapters included
            ArrayNode rs = out.putArray("rounds");
            List<Double> ratios = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                LoraBench.Round base = LoraBench.run(engine, List.of(), concurrency, requestsPerClient, promptLen, newTokens, vocab);
                LoraBench.Round mixed = LoraBench.run(engine, names, concurrency, requestsPerClient, promptLen, newTokens, vocab);
                for (LoraBench.Round r : List.of(base, mixed)) {
                    rs.addObject().put("round", round + 1).put("kind", r.kind()).put("output_tokens", r.outputTokens())
                            .put("seconds", Math.round(r.seconds() * 1000) / 1000.0)
                            .put("tokens_per_second", Math.round(r.tokensPerSecond() * 100) / 100.0);
                }
                ratios.add(mixed.tokensPerSecond() / base.tokensPerSecond());
            }
            ArrayNode rat = out.putArray("mixed_over_base");
            ratios.forEach(r -> rat.add(Math.round(r * 1000) / 1000.0));
            double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
            out.put("mixed_over_base_median", Math.round(median * 1000) / 1000.0);
            out.put("mixed_over_base_min", Math.round(ratios.stream().mapToDouble(Double::doubleValue).min().orElse(0) * 1000) / 1000.0);
            out.put("model", m.info(0).name()).put("dtype", m.model().precision().cliName()).put("adapters", adapters)
                    .put("lora_r", rank).put("concurrency", concurrency).put("requests_per_client", requestsPerClient)
                    .put("prompt_len", promptLen).put("new_tokens", newTokens).put("threads", TorchRuntime.threads())
                    .put("peak_rss_mb", Memory.peakRssBytes() >> 20)
                    .put("load_average", Files.readString(Path.of("/proc/loadavg")).trim());
        }
        System.out.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        return 0;
    }
}
