package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.bench.LinearStackBench;
import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.model.Generator;
import io.qwenserve.engine.sample.SamplingParams;
import java.util.Set;
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

    @Override
    public Integer call() {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try (LoadedModel m = modelArgs.load();
             Generator g = new Generator(m.model(), m.tokenizer(), promptLen + newTokens + 2)) {
            int vocab = Math.min(m.tokenizer().vocabSize(), m.config().vocabSize()) - 208;
            SplittableRandom r = new SplittableRandom(42);
            int[] prompt = r.ints(promptLen, 0, vocab).toArray();
            SamplingParams greedy = SamplingParams.greedy(newTokens);
            // warm-up: a short run (first calls initialise kernels and allocators)
            g.generate(prompt, SamplingParams.greedy(8), Set.of(), (t, s) -> { });
            long rssWarm = Memory.rssBytes();
            Generator.Result res = g.generate(prompt, greedy, Set.of(), (t, s) -> { });
            long rssEnd = Memory.rssBytes();
            double prefillTps = promptLen / (res.prefillNanos() / 1e9);
            double decodeTps = (res.tokens().length - 1) / (res.decodeNanos() / 1e9);
            LinearStackBench.Result bound = LinearStackBench.run(m.model(), 1, 10);
            double bandwidth = Memory.readBandwidthBytesPerSecond();
            long weightBytes = m.model().weightBytesPerStep();

            ObjectNode o = om.createObjectNode();
            o.put("model", m.dir().toString());
            o.put("architecture", m.config().architecture().hfClass());
            o.put("dtype", m.model().precision().cliName());
            o.put("device", modelArgs.device);
            o.put("kernel", m.model().kernel().name());
            o.put("threads", org.bytedeco.pytorch.global.torch.get_num_threads());
            o.put("prompt_len", promptLen);
            o.put("new_tokens", res.tokens().length);
            o.put("prefill_tokens_per_s", round(prefillTps));
            o.put("decode_tokens_per_s", round(decodeTps));
            o.put("matmul_bound_tokens_per_s", round(bound.tokensPerSecond()));
            o.put("efficiency", round(decodeTps / bound.tokensPerSecond()));
            o.put("weight_bytes_per_token", weightBytes);
            o.put("memory_read_gb_per_s", round(bandwidth / 1e9));
            o.put("bandwidth_fraction", round(weightBytes * decodeTps / bandwidth));
            o.put("rss_mb_after_warmup", rssWarm >> 20);
            o.put("rss_mb_end", rssEnd >> 20);
            o.put("rss_growth_pct", round(100.0 * (rssEnd - rssWarm) / rssWarm));
            System.out.println(o.toPrettyString());
        }
        return 0;
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
