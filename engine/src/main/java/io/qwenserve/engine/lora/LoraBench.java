package io.qwenserve.engine.lora;

import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sched.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closed-loop load on one engine serving adapters: {@code concurrency} clients send greedy requests back to back
 * (random prompt ids of a fixed length, a fixed number of new tokens); in a base round every request is for the model,
 * in a mixed round client c asks adapter {@code c mod adapters}. Rounds alternate on the same engine, so both kinds see
 * the same machine.
 */
public final class LoraBench {
    /** One round: its kind, output tokens and wall time. */
    public record Round(String kind, long outputTokens, double seconds) {
        public double tokensPerSecond() {
            return outputTokens / seconds;
        }
    }

    private LoraBench() {}

    /** One round; {@code adapters} empty for a base round. */
    public static Round run(Engine engine, List<String> adapters, int concurrency, int requestsPerClient, int promptLen,
                            int newTokens, int vocab, long seed) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        AtomicInteger ids = new AtomicInteger();
        long[] tokens = new long[concurrency];
        long start = System.nanoTime();
        List<Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            int client = c;
            String adapter = adapters.isEmpty() ? null : adapters.get(c % adapters.size());
            futures.add(clients.submit(() -> {
                SplittableRandom r = new SplittableRandom(seed * 7919L + client);
                for (int i = 0; i < requestsPerClient; i++) {
                    GenerationStream s = engine.submit(GenerationRequest.of("lora-bench-" + ids.incrementAndGet(),
                            new Prompt.Ids(r.ints(promptLen, 0, vocab).toArray()),
                            SamplingOptions.greedy(newTokens).toBuilder().ignoreEos(true).build()).withAdapter(adapter));
                    for (GenerationEvent e; (e = s.take()) != null; ) {
                        if (e instanceof GenerationEvent.Chunk ch) {
                            tokens[client] += ch.tokenIds().length;
                        } else if (e instanceof GenerationEvent.Final f) {
                            if (f.reason() == io.qwenserve.engine.api.FinishReason.ERROR) {
                                throw new IllegalStateException("request failed: " + f.message());
                            }
                            break;
                        }
                    }
                }
                return null;
            }));
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
        return new Round(adapters.isEmpty() ? "base" : adapters.size() + " adapters", total, seconds);
    }
}
