package io.qwenserve.engine.bench;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import io.qwenserve.engine.structured.OutputConstraint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The engine's decode step with every sequence constrained by a response format against the same step with free
 * sequences: {@code c} requests at once (greedy, the same prompts each round), rounds alternating the two modes; the
 * first round of each level warms the mask cache and is not counted. Only steps in which all {@code c} sequences
 * decode are timed.
 */
public final class StructuredStepBench {
    private StructuredStepBench() {}

    /** Records decode-step times while armed. */
    private static final class Steps implements EngineListener {
        volatile int expect = -1;
        final List<Long> step = new ArrayList<>();
        final List<Long> forward = new ArrayList<>();

        @Override
        public synchronized void onStep(int numSeqs, int numTokens, int numDecode, long forwardNanos, long stepNanos) {
            if (numSeqs == expect && numDecode == expect && numTokens == expect) {
                step.add(stepNanos);
                forward.add(forwardNanos);
            }
        }

        synchronized long[][] take() {
            long[][] out = {step.stream().mapToLong(Long::longValue).toArray(), forward.stream().mapToLong(Long::longValue).toArray()};
            step.clear();
            forward.clear();
            return out;
        }
    }

    public static Map<String, Object> run(LoadedModel model, int[] concurrencies, int newTokens, int rounds, int promptLen,
                                          OutputConstraint format) throws InterruptedException {
        int maxC = Arrays.stream(concurrencies).max().orElse(1);
        Steps steps = new Steps();
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(maxC).withMaxBatchTokens(Math.max(512, maxC * promptLen))
                .withKvCacheTokens(maxC * (promptLen + newTokens + 32) + 64).withMaxModelLen(promptLen + newTokens + 16);
        Map<String, Object> out = new LinkedHashMap<>();
        AtomicInteger ids = new AtomicInteger();
        try (Engine engine = new Engine(model, cfg, steps)) {
            for (int c : concurrencies) {
                List<Long> free = new ArrayList<>(), constrained = new ArrayList<>();
                List<Long> freeFwd = new ArrayList<>(), constrainedFwd = new ArrayList<>();
                int stoppedEarly = 0;
                for (int round = 0; round < rounds + 1; round++) {
                    for (int k = 0; k < 2; k++) {
                        boolean constrain = (round + k) % 2 == 1; // alternate which mode goes first
                        steps.take();
                        steps.expect = c;
                        stoppedEarly += runBatch(engine, c, newTokens, promptLen, constrain ? format : null, ids);
                        steps.expect = -1;
                        long[][] t = steps.take();
                        if (round > 0) {
                            for (long x : t[0]) {
                                (constrain ? constrained : free).add(x);
                            }
                            for (long x : t[1]) {
                                (constrain ? constrainedFwd : freeFwd).add(x);
                            }
                        }
                    }
                }
                Map<String, Object> level = new LinkedHashMap<>();
                level.put("steps_timed_free", free.size());
                level.put("steps_timed_constrained", constrained.size());
                level.put("step_ms_median_free", ms(median(free)));
                level.put("step_ms_median_constrained", ms(median(constrained)));
                level.put("step_ratio_constrained_to_free", round(median(constrained) / median(free)));
                level.put("runner_ms_median_free", ms(median(freeFwd)));
                level.put("runner_ms_median_constrained", ms(median(constrainedFwd)));
                level.put("constrained_outputs_completed_early", stoppedEarly);
                out.put("concurrency_" + c, level);
            }
        }
        return out;
    }

    /** Submits {@code c} requests at once and reads them to the end; returns how many constrained ones ended early. */
    private static int runBatch(Engine engine, int c, int newTokens, int promptLen, OutputConstraint format, AtomicInteger ids)
            throws InterruptedException {
        List<GenerationRequest> requests = new ArrayList<>();
        int vocab = engine.tokenizer().vocabSize() - 300;
        for (int i = 0; i < c; i++) {
            int[] prompt = new SplittableRandom(i * 7919L + 1).ints(promptLen, 0, vocab).toArray();
            requests.add(GenerationRequest.of("sbench-" + ids.incrementAndGet(), new Prompt.Ids(prompt),
                    SamplingOptions.greedy(newTokens).toBuilder().ignoreEos(true).responseFormat(format).build()));
        }
        int early = 0;
        for (GenerationStream s : engine.submitAll(requests)) {
            Completion done = Completion.read(s);
            if (format != null && done.finishReason() != FinishReason.LENGTH) {
                early++;
            }
        }
        return early;
    }

    private static double median(List<Long> xs) {
        if (xs.isEmpty()) {
            return Double.NaN;
        }
        long[] a = xs.stream().mapToLong(Long::longValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2.0;
    }

    private static double ms(double nanos) {
        return round(nanos / 1e6);
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
