package io.qwenserve.engine.cli;

import static io.qwenserve.engine.bench.BenchFigures.round;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.bench.ConcurrencyBench;
import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.bench.PrefixCacheBench;
import io.qwenserve.engine.bench.SingleStreamBench;
import io.qwenserve.engine.model.TorchRuntime;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen bench}: parses the options and prints the JSON of one measurement ({@link SingleStreamBench},
 * {@link ConcurrencyBench}, {@link PrefixCacheBench}, or the memory of a load).
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

    @Option(names = "--shared-prefix", defaultValue = "0", description = "Every prompt starts with the same this many random "
            + "ids (a shared system prompt). Alone: TTFT with that prefix cached against uncached; with --concurrency: each "
            + "level with prefix caching on and off, in the same run.")
    int sharedPrefix;

    @Option(names = "--prefix-caching", description = "on, off or both (with --concurrency; default: both with "
            + "--shared-prefix, else on).")
    String prefixCaching;

    @Option(names = "--rounds", defaultValue = "5", description = "Rounds of the cached-prefix TTFT comparison, and of each "
            + "level with --prefix-caching both (the modes alternate which goes first).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        if (!format.equals("json")) {
            throw new IllegalArgumentException("--format must be json");
        }
        if (loadOnly) {
            return loadOnly();
        }
        ObjectNode result;
        try (LoadedModel m = modelArgs.load()) {
            if (concurrency != null) {
                String mode = prefixCaching != null ? prefixCaching : sharedPrefix > 0 ? "both" : "on";
                List<Boolean> modes = switch (mode) {
                    case "on" -> List.of(true);
                    case "off" -> List.of(false);
                    case "both" -> List.of(true, false);
                    default -> throw new IllegalArgumentException("--prefix-caching must be on, off or both");
                };
                result = ConcurrencyBench.run(m, new ConcurrencyBench.Options(concurrency, promptLen, newTokens, requestsPerClient,
                        !noBaseline, sharedPrefix, modes, modes.size() > 1 ? rounds : 1));
            } else if (sharedPrefix > 0) {
                result = PrefixCacheBench.ttft(m, sharedPrefix, promptLen, rounds);
            } else {
                result = SingleStreamBench.run(m, promptLen, newTokens, !noBaseline);
            }
        }
        System.out.println(result.toPrettyString());
        return 0;
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

}
