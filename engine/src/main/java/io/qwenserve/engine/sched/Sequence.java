package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.sample.SequenceSampler;
import io.qwenserve.engine.structured.GrammarMatcher;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * One request's scheduling state inside the engine. Owned and mutated by the {@link Scheduler} only (on the engine
 * thread); what is sent to the client (detokenizer, stream, timings) is the {@link OutputProcessor}'s, reached through
 * {@link #output}.
 *
 * <p>The known tokens are the prompt followed by the generated output; {@code computed} of them have their K/V in
 * the cache. A step schedules {@code known - computed} tokens (or a chunk of them): a whole prompt, a prefill chunk,
 * a single decode token, or a recompute after preemption are all the same thing.
 */
final class Sequence {
    enum Status { WAITING, RUNNING, FINISHED }

    final String id;
    final int[] prompt;
    final int priority;
    final Instant deadline;      // null for none
    final SequenceSampler sampler;
    final Set<Integer> stopIds;
    final long arrival;          // submission order, breaks priority ties (older first)
    final double ntkAlpha;       // fixed at first prefill (Qwen v1 dynamic NTK)
    final int maxTokens;         // clipped so prompt + output fits the model length
    final OutputProcessor.Output output; // null in scheduler tests
    final String adapter;        // LoRA adapter name, or null for the base model
    final long prefixRoot;       // parent key of its first KV block in the prefix cache: one tree per adapter
    final GrammarMatcher matcher; // the response format's cursor over the output; null for free text
    final int[] endIds;          // stopIds as an array (allowed by the matcher's mask where the output is complete)

    private int[] tokens = new int[16];
    private int outputLen;
    int computed;
    final List<Integer> blocks = new ArrayList<>();
    final List<Long> chain = new ArrayList<>(); // cache ids naming the contents of its first full blocks (prefix caching)
    int cachedPromptTokens = -1;  // prompt tokens found in the prefix cache when first admitted (-1: not yet admitted)
    Status status = Status.WAITING;
    boolean admitted;            // scheduled at least once (left the waiting queue for the first time)
    int preemptions;
    FinishReason cancelReason;   // set when a cancel or deadline is pending

    Sequence(String id, int[] prompt, int priority, Instant deadline, SequenceSampler sampler, Set<Integer> stopIds,
             long arrival, double ntkAlpha, int maxTokens, OutputProcessor.Output output) {
        this(id, prompt, priority, deadline, sampler, stopIds, arrival, ntkAlpha, maxTokens, output, null);
    }

    Sequence(String id, int[] prompt, int priority, Instant deadline, SequenceSampler sampler, Set<Integer> stopIds,
             long arrival, double ntkAlpha, int maxTokens, OutputProcessor.Output output, GrammarMatcher matcher) {
        this(id, prompt, priority, deadline, sampler, stopIds, arrival, ntkAlpha, maxTokens, output, matcher, null,
                io.qwenserve.engine.kv.BlockPool.ROOT);
    }

    Sequence(String id, int[] prompt, int priority, Instant deadline, SequenceSampler sampler, Set<Integer> stopIds,
             long arrival, double ntkAlpha, int maxTokens, OutputProcessor.Output output, String adapter, long prefixRoot) {
        this(id, prompt, priority, deadline, sampler, stopIds, arrival, ntkAlpha, maxTokens, output, null, adapter, prefixRoot);
    }

    Sequence(String id, int[] prompt, int priority, Instant deadline, SequenceSampler sampler, Set<Integer> stopIds,
             long arrival, double ntkAlpha, int maxTokens, OutputProcessor.Output output, GrammarMatcher matcher,
             String adapter, long prefixRoot) {
        this.adapter = adapter;
        this.prefixRoot = prefixRoot;
        this.id = id;
        this.prompt = prompt;
        this.priority = priority;
        this.deadline = deadline;
        this.sampler = sampler;
        this.stopIds = stopIds;
        this.arrival = arrival;
        this.ntkAlpha = ntkAlpha;
        this.maxTokens = maxTokens;
        this.output = output;
        this.matcher = matcher;
        this.endIds = stopIds.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    int priority() {
        return priority;
    }

    int known() {
        return prompt.length + outputLen;
    }

    int outputLength() {
        return outputLen;
    }

    int tokenAt(int i) {
        return i < prompt.length ? prompt[i] : tokens[i - prompt.length];
    }

    /** Known tokens {@code from} .. {@code from + n - 1}. */
    int[] tokens(int from, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = tokenAt(from + i);
        }
        return t;
    }

    void append(int token) {
        if (outputLen == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[outputLen++] = token;
    }

    int[] blockTable() {
        int[] t = new int[blocks.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = blocks.get(i);
        }
        return t;
    }

    @Override
    public String toString() {
        return "Sequence[" + id + ", " + status + ", known=" + known() + ", computed=" + computed + ", blocks=" + blocks.size() + "]";
    }
}
