package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.sample.SampleResult;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Continuous batching over a paged KV cache. CPU-only bookkeeping: it never touches a tensor.
 *
 * <p>The algorithm: there is no prefill phase and decode phase. Each sequence has known tokens (prompt + output) and
 * computed tokens (K/V in the cache); every step lets computed catch up with known under two budgets, sequences per
 * step and tokens per step. Running sequences go first, highest priority (lowest value) and oldest first, each taking
 * all it needs (one token when decoding) or what is left of the token budget (a prefill chunk). Then waiting
 * sequences are admitted in the same order while budget and free blocks allow. A sequence whose last known token was
 * computed this step samples its next token.
 *
 * <p>When a running sequence cannot get the block it needs, the lowest-priority, newest running sequence not yet
 * scheduled this step is preempted: its blocks are freed, {@code computed} drops to 0 and it waits again, to be
 * recomputed later from its known tokens. Its output so far was already emitted and is never emitted again; no new
 * sequence is admitted in a step that preempted. A sequence that cannot fit the whole cache even alone ends with
 * LENGTH.
 */
final class Scheduler {
    static final Comparator<Sequence> ORDER = Comparator.comparingInt(Sequence::priority).thenComparingLong(s -> s.arrival);

    private final EngineConfig config;
    private final KvCacheManager kv;
    private final EngineListener listener;
    private final Hooks hooks;

    /** What the engine wants to hear about; called on the engine thread. */
    interface Hooks {
        /** A sequence was scheduled for the first time (it left the waiting queue). */
        void admitted(Sequence s);

        /** A sequence ended (before its terminal event is sent). */
        void ended(Sequence s);
    }
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(ORDER);
    private final List<Sequence> running = new ArrayList<>();
    private final Map<String, Sequence> byId = new HashMap<>();
    long preemptions;
    long promptTokens;
    long generationTokens;

    Scheduler(EngineConfig config, KvCacheManager kv, EngineListener listener, Hooks hooks) {
        this.config = config;
        this.kv = kv;
        this.listener = listener;
        this.hooks = hooks;
    }

    void add(Sequence s) {
        byId.put(s.id, s);
        waiting.add(s);
        promptTokens += s.prompt.length;
        listener.onPromptTokens(s.prompt.length);
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

    List<Sequence> all() {
        return new ArrayList<>(byId.values());
    }

    SchedulerOutput schedule() {
        retireCancelled();
        running.sort(ORDER);
        List<SchedulerOutput.Entry> decodes = new ArrayList<>();
        List<SchedulerOutput.Entry> prefills = new ArrayList<>();
        java.util.Set<Sequence> scheduled = new java.util.HashSet<>();
        int[] budget = {config.maxBatchTokens()};
        boolean preempted = false;
        // decodes first, so that a prefill chunk never crowds a running stream out of a step
        for (boolean decodePass : new boolean[] {true, false}) {
            for (Sequence s : new ArrayList<>(running)) {
                if (budget[0] == 0 || scheduled.size() == config.maxNumSeqs()) {
                    break;
                }
                if (s.status != Sequence.Status.RUNNING || scheduled.contains(s) || (s.known() - s.computed == 1) != decodePass) {
                    continue;
                }
                int n = Math.min(s.known() - s.computed, budget[0]);
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
                    budget[0] -= n;
                }
            }
        }
        while (!preempted && !waiting.isEmpty() && budget[0] > 0 && running.size() < config.maxNumSeqs()) {
            Sequence s = waiting.peek();
            if (kv.blocksFor(s.known()) > kv.total()) {
                waiting.poll();
                finish(s, FinishReason.LENGTH, "the KV cache cannot hold this sequence");
                continue;
            }
            int n = Math.min(s.known() - s.computed, budget[0]);
            if (!kv.cover(s, s.computed + n)) {
                break;
            }
            waiting.poll();
            s.status = Sequence.Status.RUNNING;
            if (s.firstScheduledNanos == 0) {
                s.firstScheduledNanos = System.nanoTime();
                hooks.admitted(s);
            }
            running.add(s);
            add(s, n, decodes, prefills);
            budget[0] -= n;
        }
        List<SchedulerOutput.Entry> entries = new ArrayList<>(decodes);
        entries.addAll(prefills);
        SchedulerOutput out = new SchedulerOutput(entries);
        assert out.numTokens() <= config.maxBatchTokens() : "token budget exceeded";
        assert entries.size() <= config.maxNumSeqs() : "sequence budget exceeded";
        return out;
    }

    private static void add(Sequence s, int n, List<SchedulerOutput.Entry> decodes, List<SchedulerOutput.Entry> prefills) {
        boolean sample = s.computed + n == s.known();
        (n == 1 && sample ? decodes : prefills).add(new SchedulerOutput.Entry(s, n, sample));
    }

    /** The lowest-priority, newest running sequence not scheduled in this step. */
    private Sequence lowestUnscheduled(java.util.Set<Sequence> scheduled) {
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
        listener.onPreemption();
    }

    /** Applies a step's results: advances computed tokens, appends sampled tokens, emits chunks, retires the finished. */
    void update(SchedulerOutput out, ModelRunnerOutput result) {
        int next = 0;
        long now = System.nanoTime();
        for (SchedulerOutput.Entry e : out.entries()) {
            Sequence s = e.seq();
            if (s.status != Sequence.Status.RUNNING) {
                continue;
            }
            s.computed += e.numTokens();
            if (!e.sample()) {
                continue;
            }
            SampleResult r = result.sampled().get(next++);
            accept(s, r, now);
        }
    }

    private void accept(Sequence s, SampleResult r, long now) {
        int token = r.token();
        if (s.stopIds.contains(token)) {
            finish(s, FinishReason.STOP, null);
            return;
        }
        int index = s.outputLength();
        s.append(token);
        s.sampler.accept(token);
        generationTokens++;
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = now;
            listener.onFirstToken(now - s.submittedNanos);
        } else {
            listener.onInterToken(now - s.lastTokenNanos);
        }
        s.lastTokenNanos = now;
        String text = s.detokenizer.push(token);
        List<GenerationEvent.TokenLogprob> lp = s.sampler.params().logprobs() > 0
                ? List.of(new GenerationEvent.TokenLogprob(token, r.logprob(), r.topIds(), r.topLogprobs()))
                : List.of();
        s.stream.offer(new GenerationEvent.Chunk(text, new int[] {token}, index, lp));
        if (s.detokenizer.stopHit() != null) {
            finish(s, FinishReason.STOP_STRING, null);
        } else if (s.outputLength() >= s.maxTokens) {
            finish(s, FinishReason.LENGTH, null);
        }
    }

    /** Ends cancelled and expired sequences, running or waiting. */
    private void retireCancelled() {
        Instant now = Instant.now();
        for (Iterator<Sequence> it = byId.values().iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            FinishReason r = s.cancelReason;
            if (r == null && s.request.deadline() != null && now.isAfter(s.request.deadline())) {
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

    /** Releases everything the sequence holds and sends its terminal event. */
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
        if (reason != FinishReason.STOP_STRING) {
            String tail = s.detokenizer.finish();
            if (!tail.isEmpty()) {
                s.stream.offer(new GenerationEvent.Chunk(tail, new int[0], s.outputLength(), List.of()));
            }
        }
        hooks.ended(s);
        long end = System.nanoTime();
        long scheduled = s.firstScheduledNanos == 0 ? end : s.firstScheduledNanos;
        long first = s.firstTokenNanos == 0 ? end : s.firstTokenNanos;
        GenerationEvent.Timings t = new GenerationEvent.Timings(scheduled - s.submittedNanos,
                s.firstTokenNanos == 0 ? 0 : first - s.submittedNanos, end - first, end - s.submittedNanos);
        s.stream.offer(new GenerationEvent.Final(reason, new GenerationEvent.Usage(s.prompt.length, s.outputLength()), t,
                reason == FinishReason.STOP || reason == FinishReason.STOP_STRING || (reason == FinishReason.LENGTH && message == null) ? null : message));
        listener.onFinished(reason, end - s.submittedNanos, s.prompt.length, s.outputLength());
    }

    /**
     * Checks the block accounting: blocks held by sequences equal blocks in use, no block is held twice, and only
     * running sequences hold blocks. For tests; O(blocks).
     */
    void checkInvariants() {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (Sequence s : byId.values()) {
            if (s.status != Sequence.Status.RUNNING && !s.blocks.isEmpty()) {
                throw new IllegalStateException(s + " holds blocks but is not running");
            }
            for (int b : s.blocks) {
                if (!seen.add(b)) {
                    throw new IllegalStateException("block " + b + " held twice");
                }
            }
            if (s.status == Sequence.Status.RUNNING && s.blocks.size() < kv.blocksFor(s.computed)) {
                throw new IllegalStateException(s + " has fewer blocks than computed tokens need");
            }
        }
        if (seen.size() != kv.used()) {
            throw new IllegalStateException(seen.size() + " blocks held by sequences but " + kv.used() + " in use");
        }
    }

    /** Ends every sequence (engine shutdown or failure). */
    void abortAll(FinishReason reason, String message) {
        for (Sequence s : new ArrayList<>(byId.values())) {
            finish(s, reason, message);
        }
    }
}
