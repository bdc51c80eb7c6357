package io.qwenserve.engine.model;

import io.qwenserve.engine.lora.LoraWeights;
import java.util.List;

/**
 * The input of one model step: the new tokens of every scheduled sequence, concatenated, plus where each sequence's
 * K/V live. Prefill (chunked or not) and decode are the same thing with different {@code queryLen}.
 *
 * @param tokens new token ids of all sequences, in sequence order
 * @param seqs   one slice per sequence; their {@code queryLen}s sum to {@code tokens.length}
 * @param loras  each sequence's LoRA adapter (null for the base), in sequence order; empty when no sequence has one
 */
public record ForwardBatch(int[] tokens, List<Slice> seqs, List<LoraWeights> loras) {

    /** Which logits a sequence wants back from this step. */
    public enum Logits {
        /** None (a prefill chunk that is not the last). */
        NONE,
        /** The last new position only (the next-token distribution). */
        LAST,
        /** Every new position (the {@code logits --all-positions} command, prompt logprobs). */
        ALL
    }

    /**
     * One sequence's part of a step.
     *
     * @param queryLen   new tokens this step (1 when decoding)
     * @param contextLen tokens in the KV cache after this step: positions {@code contextLen - queryLen ..
     *                   contextLen - 1} are computed now
     * @param blockTable KV blocks of this sequence, enough for {@code contextLen} positions
     * @param ntkAlpha   Qwen v1 dynamic-NTK alpha, fixed when the sequence was first prefilled (1 = none)
     */
    public record Slice(int queryLen, int contextLen, int[] blockTable, double ntkAlpha, Logits logits) {
        public int past() {
            return contextLen - queryLen;
        }

        public int logitRows() {
            return switch (logits) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL -> queryLen;
            };
        }
    }

    /** A batch of base-model sequences only. */
    public ForwardBatch(int[] tokens, List<Slice> seqs) {
        this(tokens, seqs, List.of());
    }

    public ForwardBatch {
        seqs = List.copyOf(seqs);
        loras = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(loras)); // null entries allowed
        if (!loras.isEmpty() && loras.size() != seqs.size()) {
            throw new IllegalArgumentException(loras.size() + " adapters for " + seqs.size() + " sequences");
        }
        int n = 0;
        for (Slice s : seqs) {
            if (s.queryLen() <= 0 || s.contextLen() < s.queryLen()) {
                throw new IllegalArgumentException("bad slice " + s);
            }
            n += s.queryLen();
        }
        if (n != tokens.length) {
            throw new IllegalArgumentException("slices cover " + n + " tokens, batch has " + tokens.length);
        }
    }

    /** The step's per-row LoRA updates, or null when no sequence has an adapter. */
    public io.qwenserve.engine.lora.LoraStep loraStep() {
        if (loras.isEmpty()) {
            return null;
        }
        int[] lens = new int[seqs.size()];
        for (int i = 0; i < lens.length; i++) {
            lens[i] = seqs.get(i).queryLen();
        }
        return io.qwenserve.engine.lora.LoraStep.of(lens, loras);
    }

    public int logitRows() {
        return seqs.stream().mapToInt(Slice::logitRows).sum();
    }
}
