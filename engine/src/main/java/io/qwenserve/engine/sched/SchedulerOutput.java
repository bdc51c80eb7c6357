package io.qwenserve.engine.sched;

import io.qwenserve.engine.sample.SamplingRow;
import java.util.List;

/**
 * What one step runs, as a value the model runner cannot change the scheduler through: for each scheduled sequence,
 * the tokens to compute, where they start, its block table and, when its known tokens will all be computed, the
 * sampling row for its next token. Decode entries come first, then prefill chunks.
 */
record SchedulerOutput(List<Entry> entries) {
    /**
     * One sequence's part of a step.
     *
     * @param tokens     the known tokens to compute this step
     * @param past       tokens of the sequence already computed (positions of {@code tokens} start here)
     * @param blockTable a copy of the sequence's block table, covering {@code past + tokens.length} positions
     * @param sampling   how to sample after the last token, or null when this is a prefill chunk that samples nothing
     * @param adapter    the sequence's LoRA adapter, or null for the base model
     */
    record Entry(String requestId, int[] tokens, int past, int[] blockTable, double ntkAlpha, SamplingRow sampling,
                 String adapter) {
        Entry(String requestId, int[] tokens, int past, int[] blockTable, double ntkAlpha, SamplingRow sampling) {
            this(requestId, tokens, past, blockTable, ntkAlpha, sampling, null);
        }

        int numTokens() {
            return tokens.length;
        }

        boolean sample() {
            return sampling != null;
        }
    }

    static final SchedulerOutput EMPTY = new SchedulerOutput(List.of());

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
