package io.qwenserve.engine.sched;

/** A snapshot of the engine's gauges and counters. */
public record EngineStats(int running, int waiting, int kvBlocksUsed, int kvBlocksTotal, long preemptions,
                          long promptTokens, long generationTokens, long steps, boolean loopAlive, boolean accepting) {
    public double kvUsage() {
        return kvBlocksTotal == 0 ? 0 : (double) kvBlocksUsed / kvBlocksTotal;
    }
}
