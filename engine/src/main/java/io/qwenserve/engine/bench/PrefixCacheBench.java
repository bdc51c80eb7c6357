package io.qwenserve.engine.bench;

import static io.qwenserve.engine.bench.BenchFigures.round;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Time to first token of a request whose long prefix is cached against one whose prefix is not, in one engine and one
 * run: each round takes a new prefix, sends it with one question (nothing cached: the whole prompt is computed), then
 * with another question (the prefix's full blocks come from the cache). The server-side TTFT of the engine's final
 * event is reported, median over rounds.
 */
public final class PrefixCacheBench {
    private PrefixCacheBench() {}

    public static ObjectNode ttft(LoadedModel m, int prefixLen, int questionLen, int rounds) throws Exception {
        int vocab = Math.min(m.tokenizer().vocabSize(), m.config().vocabSize()) - 208;
        int seqLen = prefixLen + questionLen + 2;
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(1).withMaxBatchTokens(Math.max(512, seqLen))
                .withKvCacheTokens(4 * (seqLen + 16)).withMaxModelLen(seqLen + 16);
        double[] cold = new double[rounds];
        double[] warm = new double[rounds];
        int[] cached = new int[rounds];
        try (Engine engine = new Engine(m, cfg, EngineListener.NONE)) {
            SplittableRandom r = new SplittableRandom(77);
            first(engine, "warm-up", r.ints(seqLen - 2, 0, vocab).toArray());
            for (int i = 0; i < rounds; i++) {
                int[] prefix = r.ints(prefixLen, 0, vocab).toArray();
                cold[i] = first(engine, "cold-" + i, join(prefix, r.ints(questionLen, 0, vocab).toArray())).end().timings().ttftNanos() / 1e6;
                Completion w = first(engine, "warm-" + i, join(prefix, r.ints(questionLen, 0, vocab).toArray()));
                warm[i] = w.end().timings().ttftNanos() / 1e6;
                cached[i] = w.end().usage().cachedPromptTokens();
            }
        }
        Arrays.sort(cold);
        Arrays.sort(warm);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("model", m.dir().toString());
        o.put("dtype", m.model().precision().cliName());
        o.put("threads", TorchRuntime.threads());
        o.put("shared_prefix", prefixLen);
        o.put("question_len", questionLen);
        o.put("rounds", rounds);
        o.put("ttft_ms_uncached_p50", round(cold[rounds / 2]));
        o.put("ttft_ms_cached_p50", round(warm[rounds / 2]));
        o.put("ttft_lower_by", round(cold[rounds / 2] / warm[rounds / 2]));
        ArrayNode c = o.putArray("cached_prompt_tokens");
        Arrays.stream(cached).forEach(c::add);
        return o;
    }

    private static Completion first(Engine engine, String id, int[] prompt) throws InterruptedException {
        return Completion.read(engine.submit(GenerationRequest.of(id, new Prompt.Ids(prompt),
                SamplingOptions.greedy(1).toBuilder().ignoreEos(true).build())));
    }

    private static int[] join(int[] a, int[] b) {
        int[] j = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, j, a.length, b.length);
        return j;
    }
}
