package io.qwenserve.engine.bench;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sched.Engine;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Closed-loop load on an in-process engine: {@code concurrency} clients, each sending requests back to back (random
 * prompt ids of a fixed length, optionally after a shared prefix; greedy, a fixed number of new tokens), timing every
 * token as the client sees it.
 */
public final class ThroughputBench {

    /** Figures of one concurrency level. */
    public record Result(int concurrency, int requests, long outputTokens, double seconds, double[] ttftMs, double[] itlMs,
                         double kvUsageMax) {
        public double outputTokensPerSecond() {
            return outputTokens / seconds;
        }
    }

    /** Each run draws other prompts, so a later run (another level, another engine) never meets a prompt it cached. */
    private static final AtomicLong RUNS = new AtomicLong();

    private ThroughputBench() {}

    public static Result run(Engine engine, int concurrency, int requestsPerClient, int promptLen, int newTokens, int vocab) throws Exception {
        return run(engine, concurrency, requestsPerClient, new int[0], promptLen, newTokens, vocab);
    }

    /** The same with every prompt starting with {@code prefix} (a shared system prompt), then {@code promptLen} random ids. */
    public static Result run(Engine engine, int concurrency, int requestsPerClient, int[] prefix, int promptLen, int newTokens,
                             int vocab) throws Exception {
        return run(engine, concurrency, requestsPerClient, prefix, promptLen, newTokens, vocab, client -> null);
    }

    /** The same with client c's requests naming the LoRA adapter {@code adapterOf(c)} (null: the model itself). */
    public static Result run(Engine engine, int concurrency, int requestsPerClient, int[] prefix, int promptLen, int newTokens,
                             int vocab, IntFunction<String> adapterOf) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
        List<Double> itl = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger ids = new AtomicInteger();
        long[] tokens = new long[concurrency];
        double kvMax = 0;
        long salt = RUNS.incrementAndGet() * 1_000_003L;
        long start = System.nanoTime();
        List<Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            int client = c;
            String adapter = adapterOf.apply(c);
            futures.add(clients.submit(() -> {
                SplittableRandom r = new SplittableRandom(salt + client * 7919L + 1);
                for (int i = 0; i < requestsPerClient; i++) {
                    int[] prompt = java.util.Arrays.copyOf(prefix, prefix.length + promptLen);
                    System.arraycopy(r.ints(promptLen, 0, vocab).toArray(), 0, prompt, prefix.length, promptLen);
                    long t0 = System.nanoTime();
                    GenerationStream s = engine.submit(GenerationRequest.of("bench-" + ids.incrementAndGet(), new Prompt.Ids(prompt),
                            SamplingOptions.greedy(newTokens).toBuilder().ignoreEos(true).build()).withAdapter(adapter));
                    long last = 0;
                    for (GenerationEvent e; (e = s.take()) != null; ) {
                        long now = System.nanoTime();
                        if (e instanceof GenerationEvent.Chunk ch && ch.tokenIds().length > 0) {
                            if (last == 0) {
                                ttft.add((now - t0) / 1e6);
                            } else {
                                // a merged chunk spreads its gap over its tokens
                                double gap = (now - last) / 1e6 / ch.tokenIds().length;
                                for (int k = 0; k < ch.tokenIds().length; k++) {
                                    itl.add(gap);
                                }
                            }
                            last = now;
                            tokens[client] += ch.tokenIds().length;
                        } else if (e instanceof GenerationEvent.Final f) {
                            if (f.reason() == FinishReason.ERROR) {
                                throw new IllegalStateException("request failed: " + f.message());
                            }
                            break;
                        }
                    }
                }
                return null;
            }));
        }
        while (futures.stream().anyMatch(f -> !f.isDone())) {
            kvMax = Math.max(kvMax, engine.stats().kvUsage());
            Thread.sleep(5);
        }
        for (Future<?> f : futures) {
            f.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        clients.shutdown();
        long total = 0;
        for (long t : tokens) {
            total += t;
        }
        return new Result(concurrency, concurrency * requestsPerClient, total, seconds, toArray(ttft), toArray(itl), kvMax);
    }

    /** One greedy request of {@code prompt} for exactly {@code newTokens} tokens (end ids ignored), waited for; returns the tokens generated. */
    public static int generate(Engine engine, String id, int[] prompt, int newTokens) throws InterruptedException {
        GenerationStream s = engine.submit(GenerationRequest.of(id, new Prompt.Ids(prompt),
                SamplingOptions.greedy(newTokens).toBuilder().ignoreEos(true).build()));
        int tokens = 0;
        for (GenerationEvent e; (e = s.take()) != null; ) {
            if (e instanceof GenerationEvent.Chunk ch) {
                tokens += ch.tokenIds().length;
            } else if (e instanceof GenerationEvent.Final f) {
                if (f.reason() == io.qwenserve.engine.api.FinishReason.ERROR) {
                    throw new IllegalStateException("request " + id + " failed: " + f.message());
                }
                break;
            }
        }
        return tokens;
    }

    private static double[] toArray(List<Double> l) {
        synchronized (l) {
            double[] a = l.stream().mapToDouble(Double::doubleValue).toArray();
            java.util.Arrays.sort(a);
            return a;
        }
    }

    /** Percentile of a sorted array (nearest rank). */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
