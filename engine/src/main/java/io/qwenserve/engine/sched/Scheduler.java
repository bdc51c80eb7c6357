package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.sample.SampleResult;
import io.qwenserve.engine.sample.SamplingRow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Continuous batching over a paged KV cache. CPU-only bookkeeping: it never touches a tensor, a tokenizer or a stream.
 *
 * <p>The algorithm: there is no prefill phase and decode phase. Each sequence has known tokens (prompt + output) and
 * computed tokens (K/V in the cache); every step lets computed catch up with known under two budgets, sequences per
 * step and tokens per step. Running sequences go first, highest priority (lowest value) and oldest first, each taking
 * all it needs (one token when decoding) or what is left of the token budget (a prefill chunk). Then waiting
 * sequences are admitted in the same order while budget and free blocks allow. A sequence whose last known token is
 * computed this step samples its next token.
 *
 * <p>When a running sequence cannot get the block it needs, the lowest-priority, newest running sequence not yet
 * scheduled this step is preempted: its blocks are freed, {@code computed} drops to 0 and it waits again, to be
 * recomputed later from its known tokens. Its output so far was already emitted and is never emitted again; no new
 * sequence is admitted in a step that preempted. A sequence that cannot fit the whole cache even alone ends with
 * LENGTH.
 *
 * <p>What a sampled token means to the client (text, stop strings, events) is the {@link Sink}'s business.
 */
final class Scheduler {
    static final Comparator<Sequence> ORDER = Comparator.comparingInt(Sequence::priority).thenComparingLong(s -> s.arrival);

    /** Hears what happens to sequences; called on the engine thread. */
    interface Sink {
        /** A sequence was scheduled for the first time (it left the waiting queue). */
        default void admitted(Sequence s) {}

        /** A sequence was preempted (its blocks freed; it waits to be recomputed). */
        default void preempted(Sequence s) {}

        /** A sequence starting from nothing computed looked its known tokens up in the prefix cache. */
        default void prefixLookup(int queried, int hit) {}

        /**
         * A token was appended to the sequence's output at {@code index}; returns true when it completed a stop string
         * (the sequence then ends with STOP_STRING).
         */
        boolean token(Sequence s, int index, SampleResult r);

        /** A sequence ended; its blocks are already free. {@code message} is null for normal ends. */
        void finished(Sequence s, FinishReason reason, String message);
    }

    private final EngineConfig config;
    private final KvCacheManager kv;
    private final Sink sink;
    private final int maxAdapters; // distinct LoRA adapters running at once
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(ORDER);
    private final List<Sequence> running = new ArrayList<>();
    private final Map<String, Sequence> byId = new HashMap<>();
    long preemptions;
    long promptTokens;
    long generationTokens;

    Scheduler(EngineConfig config, KvCacheManager kv, Sink sink) {
        this(config, kv, sink, Integer.MAX_VALUE);
    }

    /** @param maxAdapters how many distinct LoRA adapters may run at once (the adapters held in memory) */
    Scheduler(EngineConfig config, KvCacheManager kv, Sink sink, int maxAdapters) {
        this.config = config;
        this.kv = kv;
        this.sink = sink;
        this.maxAdapters = maxAdapters;
    }

    /** The LoRA adapters of the running sequences. */
    Set<String> runningAdapters() {
        Set<String> names = new HashSet<>();
        for (Sequence s : running) {
            if (s.adapter != null) {
                names.add(s.adapter);
            }
        }
        return names;
    }

    void add(Sequence s) {
        byId.put(s.id, s);
        waiting.add(s);
        promptTokens += s.prompt.length;
    }

    boolean contains(String id) {
        return byId.containsKey(id);
    }

    /** Marks a request for cancellation; it ends at the start of the next step. */
    void cancel(String id, FinishReason reason) {
        Sequence s = byId.get(id);
        if (s != null && s.cancelReason == null) {
            s.cancelReason = reason;
        }
    }

    int numRunning() {
        return running.size();
    }

    int numWaiting() {
        return waiting.size();
    }

    boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    int blocksUsed() {
        return kv.used();
    }

    int blocksTotal() {
        return kv.total();
    }

    SchedulerOutput schedule() {
        retireCancelled();
        running.sort(ORDER);
        List<SchedulerOutput.Entry> decodes = new ArrayList<>();
        List<SchedulerOutput.Entry> prefills = new ArrayList<>();
        Set<Sequence> scheduled = new HashSet<>();
        int budget = config.maxBatchTokens();
        boolean preempted = false;
        // decodes first, so that a prefill chunk never crowds a running stream out of a step
        for (boolean decodePass : new boolean[] {true, false}) {
            for (Sequence s : new ArrayList<>(running)) {
                if (budget == 0 || scheduled.size() == config.maxBatch()) {
                    break;
                }
                if (s.status != Sequence.Status.RUNNING || scheduled.contains(s) || (s.known() - s.computed == 1) != decodePass) {
                    continue;
                }
                int n = Math.min(s.known() - s.computed, budget);
                while (!kv.cover(s, s.computed + n)) {
                    Sequence victim = lowestUnscheduled(scheduled);
                    if (victim == s && running.size() == 1) {
                        finish(s, FinishReason.LENGTH, "the KV cache cannot hold this sequence");
                        break;
                    }
                    preempt(victim);
                    preempted = true;
                    if (victim == s) {
                        break;
                    }
                }
                if (s.status == Sequence.Status.RUNNING) {
                    scheduled.add(s);
                    add(s, n, decodes, prefills);
                    budget -= n;
                }
            }
        }
        Set<String> adapters = runningAdapters();
        while (!preempted && !waiting.isEmpty() && budget > 0 && running.size() < config.maxBatch()) {
            Sequence s = waiting.peek();
            if (s.adapter != null && !adapters.contains(s.adapter) && adapters.size() >= maxAdapters) {
                break; // its adapter would be one more than memory holds: it waits for a running adapter to finish
            }
            if (kv.blocksFor(s.known()) > kv.total()) {
                finish(s, FinishReason.LENGTH, "the KV cache cannot hold this sequence");
                continue;
            }
            int hit = kv.matchPrefix(s); // a waiting sequence has nothing computed (new, or preempted)
            s.computed = hit;
            int n = Math.min(s.known() - s.computed, budget);
            if (!kv.cover(s, s.computed + n)) {
                kv.free(s); // give claimed blocks back; the next attempt looks them up again
                s.computed = 0;
                break;
            }
            if (kv.prefixCaching()) {
                kv.countLookup(s.known(), hit);
                sink.prefixLookup(s.known(), hit);
            }
            if (s.cachedPromptTokens < 0) {
                s.cachedPromptTokens = Math.min(hit, s.prompt.length);
            }
            waiting.poll();
            s.status = Sequence.Status.RUNNING;
            if (!s.admitted) {
                s.admitted = true;
                sink.admitted(s);
            }
            running.add(s);
            if (s.adapter != null) {
                adapters.add(s.adapter);
            }
            add(s, n, decodes, prefills);
            budget -= n;
        }
        List<SchedulerOutput.Entry> entries = new ArrayList<>(decodes);
        entries.addAll(prefills);
        SchedulerOutput out = new SchedulerOutput(entries);
        assert out.numTokens() <= config.maxBatchTokens() : "token budget exceeded";
        assert entries.size() <= config.maxBatch() : "sequence budget exceeded";
        return out;
    }

    private static void add(Sequence s, int n, List<SchedulerOutput.Entry> decodes, List<SchedulerOutput.Entry> prefills) {
        boolean sample = s.computed + n == s.known();
        SchedulerOutput.Entry e = new SchedulerOutput.Entry(s.id, s.tokens(s.computed, n), s.computed, s.blockTable(), s.ntkAlpha,
                sample ? row(s) : null, s.adapter);
        (n == 1 && sample ? decodes : prefills).add(e);
    }

    /** The sampling row of a sequence's next token; a response format's mask comes from its matcher (cached per state). */
    private static SamplingRow row(Sequence s) {
        SamplingRow row = s.sampler.nextRow();
        return s.matcher == null ? row : row.withMask(s.matcher.mask(), s.endIds);
    }

    /** The lowest-priority, newest running sequence not scheduled in this step. */
    private Sequence lowestUnscheduled(Set<Sequence> scheduled) {
        Sequence victim = null;
        for (Sequence s : running) {
            if (!scheduled.contains(s) && (victim == null || ORDER.compare(s, victim) > 0)) {
                victim = s;
            }
        }
        return victim;
    }

    private void preempt(Sequence s) {
        kv.free(s);
        s.computed = 0;
        s.status = Sequence.Status.WAITING;
        s.preemptions++;
        running.remove(s);
        waiting.add(s);
        preemptions++;
        sink.preempted(s);
    }

    /** Applies a step's results: advances computed tokens, appends sampled tokens, retires the finished. */
    void update(SchedulerOutput out, ModelRunnerOutput result) {
        int next = 0;
        for (SchedulerOutput.Entry e : out.entries()) {
            SampleResult r = e.sample() ? result.sampled().get(next++) : null;
            Sequence s = byId.get(e.requestId());
            if (s == null || s.status != Sequence.Status.RUNNING) {
                continue;
            }
            s.computed += e.numTokens();
            kv.cacheFullBlocks(s);
            if (r != null) {
                accept(s, r);
            }
        }
    }

    private void accept(Sequence s, SampleResult r) {
        int token = r.token();
        if (s.stopIds.contains(token)) {
            finish(s, FinishReason.STOP, null);
            return;
        }
        if (s.matcher != null && !s.matcher.accept(token)) {
            // only when the format has no continuation at all (deeper than its nesting limit): nothing valid to sample
            finish(s, FinishReason.ERROR, "the response format allows no token here");
            return;
        }
        int index = s.outputLength();
        s.append(token);
        s.sampler.accept(token);
        generationTokens++;
        if (sink.token(s, index, r)) {
            finish(s, FinishReason.STOP_STRING, null);
        } else if (s.matcher != null && s.matcher.mustEnd()) {
            finish(s, FinishReason.STOP, null); // the output is complete and nothing may follow: no step for the end token
        } else if (s.outputLength() >= s.maxTokens) {
            finish(s, FinishReason.LENGTH, null);
        }
    }

    /** A step failed: its sequences end with ERROR (blocks freed); everything else goes on. */
    void fail(SchedulerOutput out, String message) {
        for (SchedulerOutput.Entry e : out.entries()) {
            Sequence s = byId.get(e.requestId());
            if (s != null) {
                finish(s, FinishReason.ERROR, message);
            }
        }
    }

    /** Ends cancelled and expired sequences, running or waiting. */
    private void retireCancelled() {
        Instant now = null;
        for (Iterator<Sequence> it = byId.values().iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            FinishReason r = s.cancelReason;
            if (r == null && s.deadline != null && (now == null ? now = Instant.now() : now).isAfter(s.deadline)) {
                r = FinishReason.DEADLINE;
            }
            if (r != null) {
                it.remove();
                end(s, r, r == FinishReason.CANCELLED ? "cancelled" : "deadline exceeded");
            }
        }
    }

    void finish(Sequence s, FinishReason reason, String message) {
        byId.remove(s.id);
        end(s, reason, message);
    }

    /** Releases everything the sequence holds and reports its end. */
    private void end(Sequence s, FinishReason reason, String message) {
        if (s.status == Sequence.Status.FINISHED) {
            return;
        }
        if (s.status == Sequence.Status.RUNNING) {
            running.remove(s);
        } else {
            waiting.remove(s);
        }
        s.status = Sequence.Status.FINISHED;
        kv.free(s);
        sink.finished(s, reason, message);
    }

    /**
     * Checks the block accounting: each block's reference count is the number of sequences holding it, blocks held
     * equal blocks in use, no sequence holds a block twice, and only running sequences hold blocks. For tests;
     * O(blocks).
     */
    void checkInvariants() {
        Map<Integer, Integer> holders = new HashMap<>();
        for (Sequence s : byId.values()) {
            if (s.status != Sequence.Status.RUNNING && !s.blocks.isEmpty()) {
                throw new IllegalStateException(s + " holds blocks but is not running");
            }
            if (new HashSet<>(s.blocks).size() != s.blocks.size()) {
                throw new IllegalStateException(s + " holds a block twice");
            }
            for (int b : s.blocks) {
                holders.merge(b, 1, Integer::sum);
            }
            if (s.status == Sequence.Status.RUNNING && s.blocks.size() < kv.blocksFor(s.computed)) {
                throw new IllegalStateException(s + " has fewer blocks than computed tokens need");
            }
        }
        holders.forEach((b, n) -> {
            if (kv.refCount(b) != n) {
                throw new IllegalStateException("block " + b + " held by " + n + " sequences but counts " + kv.refCount(b) + " references");
            }
        });
        if (holders.size() != kv.used()) {
            throw new IllegalStateException(holders.size() + " blocks held by sequences but " + kv.used() + " in use");
        }
    }

    /** Ends every sequence (engine shutdown or failure). */
    void abortAll(FinishReason reason, String message) {
        for (Sequence s : new ArrayList<>(byId.values())) {
            finish(s, reason, message);
        }
    }
}
