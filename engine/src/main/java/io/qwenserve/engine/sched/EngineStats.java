package io.qwenserve.engine.sched;

/** A snapshot of the engine's gauges and counters. */
/**
 * @param prefixCacheQueries known tokens of admitted sequences looked up in the prefix cache
 * @param prefixCacheHits    of those, tokens found cached (their K/V not computed again)
 */
public record EngineStats(int running, int waiting, int kvBlocksUsed, int kvBlocksTotal, long preemptions,
                          long promptTokens, long generationTokens, long steps, boolean loopAlive, boolean accepting,
                          long prefixCacheQueries, long prefixCacheHits) {
    public double kvUsage() {
        return kvBlocksTotal == 0 ? 0 : (double) kvBlocksUsed / kvBlocksTotal;
    }
}
