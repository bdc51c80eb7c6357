package io.qwenserve.engine.sched;

import java.util.List;

/**
 * What one step runs: for each scheduled sequence, how many of its tokens to compute and whether to sample after
 * them. Decode entries come first, then prefill chunks.
 */
record SchedulerOutput(List<Entry> entries) {
    record Entry(Sequence seq, int numTokens, boolean sample) {}

    SchedulerOutput {
        entries = List.copyOf(entries);
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    int numDecode() {
        return (int) entries.stream().filter(e -> e.numTokens() == 1 && e.sample()).count();
    }

    int numTokens() {
        return entries.stream().mapToInt(Entry::numTokens).sum();
    }
}
