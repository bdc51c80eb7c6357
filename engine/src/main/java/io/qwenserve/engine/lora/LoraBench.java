package io.qwenserve.engine.lora;

import io.qwenserve.engine.bench.ThroughputBench;
import io.qwenserve.engine.sched.Engine;
import java.util.List;

/**
 * Closed-loop load on one engine serving adapters ({@link ThroughputBench}'s clients): in a base round every request is
 * for the model, in a mixed round client c asks adapter {@code c mod adapters}. Rounds alternate on the same engine, so
 * both kinds see the same machine.
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
                            int newTokens, int vocab) throws Exception {
        ThroughputBench.Result r = ThroughputBench.run(engine, concurrency, requestsPerClient, new int[0], promptLen, newTokens,
                vocab, client -> adapters.isEmpty() ? null : adapters.get(client % adapters.size()));
        return new Round(adapters.isEmpty() ? "base" : adapters.size() + " adapters", r.outputTokens(), r.seconds());
    }
}
