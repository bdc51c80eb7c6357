package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.sample.SampleResult;
import io.qwenserve.engine.sample.SamplingParams;
import io.qwenserve.engine.sample.SequenceSampler;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The scheduler alone, with a fake model runner and no libtorch: the fake's next token is a hash of every token the
 * sequence has computed so far, which it rebuilds from the step values it is handed, so any mistake in what a step
 * carries (tokens, start position, recompute after preemption) changes the output.
 */
class SchedulerTest {
    private static final int STOP = 7;

    /**
     * A fake model over a fake KV cache: each step writes its tokens into the slots its block tables name, and a
     * sequence's next token is a hash of every token its block table reads back for positions 0..end. Wrong tokens,
     * positions, block tables, or a shared block that does not hold what its sharer expects change the output.
     */
    static final class FakeRunner {
        final int[] slots = new int[1 << 16];
        final List<SchedulerOutput> steps = new ArrayList<>();

        ModelRunnerOutput execute(SchedulerOutput out) {
            steps.add(out);
            List<SampleResult> sampled = new ArrayList<>();
            for (SchedulerOutput.Entry e : out.entries()) {
                int end = e.past() + e.numTokens();
                assertTrue(e.blockTable().length * 16L >= end, "the block table covers the step");
                for (int i = 0; i < e.numTokens(); i++) {
                    slots[slot(e.blockTable(), e.past() + i)] = e.tokens()[i];
                }
                if (e.sample()) {
                    long h = 1469598103934665603L;
                    for (int p = 0; p < end; p++) {
                        h = (h ^ slots[slot(e.blockTable(), p)]) * 1099511628211L;
                    }
                    sampled.add(SampleResult.of(100 + (int) Math.floorMod(h, 5000L)));
                }
            }
            return new ModelRunnerOutput(sampled);
        }

        static int slot(int[] blockTable, int position) {
            return blockTable[position / 16] * 16 + position % 16;
        }
    }

    /** Records what the scheduler reports. */
    static final class RecordingSink implements Scheduler.Sink {
        final Map<String, List<Integer>> tokens = new LinkedHashMap<>();
        final Map<String, FinishReason> finished = new LinkedHashMap<>();
        final Map<String, String> messages = new HashMap<>();
        final List<String> admitted = new ArrayList<>();
        int preempted;
        Predicate<List<Integer>> stopString = t -> false;

        @Override
        public void admitted(Sequence s) {
            admitted.add(s.id);
        }

        @Override
        public void preempted(Sequence s) {
            preempted++;
        }

        @Override
        public boolean token(Sequence s, int index, SampleResult r) {
            List<Integer> t = tokens.computeIfAbsent(s.id, k -> new ArrayList<>());
            assertEquals(t.size(), index, "tokens are reported once each, in order");
            t.add(r.token());
            return stopString.test(t);
        }

        @Override
        public void finished(Sequence s, FinishReason reason, String message) {
            assertNull(finished.put(s.id, reason), s.id + " finished twice");
            assertTrue(s.blocks.isEmpty(), "blocks are free before the end is reported");
            if (message != null) {
                messages.put(s.id, message);
            }
        }
    }

    private static long arrivals;

    static Sequence seq(String id, int[] prompt, int maxTokens, int priority) {
        SamplingParams p = SamplingParams.greedy(maxTokens);
        return new Sequence(id, prompt, priority, null, new SequenceSampler(p, prompt), Set.of(STOP), ++arrivals, 1.0, maxTokens, null);
    }

    static EngineConfig config(int maxBatch, int maxBatchTokens) {
        return EngineConfig.defaults().toBuilder().maxBatch(maxBatch).maxBatchTokens(maxBatchTokens).build();
    }

    /** Runs the scheduler to the end, checking the block accounting after every step. */
    static void runToEnd(Scheduler s, FakeRunner runner) {
        for (int guard = 0; s.hasWork(); guard++) {
            assertTrue(guard < 100_000, "the scheduler makes progress");
            SchedulerOutput out = s.schedule();
            s.update(out, runner.execute(out));
            s.checkInvariants();
        }
    }

    static List<int[]> prompts(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(r.ints(1 + r.nextInt(60), 100, 5000).toArray());
        }
        return out;
    }

    static Map<String, List<Integer>> generate(List<int[]> prompts, int maxTokens, EngineConfig cfg, int blocks, boolean caching,
                                                RecordingSink sink) {
        Scheduler s = new Scheduler(cfg, new KvCacheManager(blocks, 16, caching), sink);
        for (int i = 0; i < prompts.size(); i++) {
            s.add(seq("r" + i, prompts.get(i), maxTokens, 0));
        }
        runToEnd(s, new FakeRunner());
        assertEquals(0, s.blocksUsed());
        return sink.tokens;
    }

    @Test
    void preemptionAndChunkingNeverChangeTheOutput() {
        List<int[]> prompts = prompts(12, 1);
        Map<String, List<Integer>> roomy = generate(prompts, 20, config(64, 512), 1000, false, new RecordingSink());
        RecordingSink tight = new RecordingSink();
        Map<String, List<Integer>> cramped = generate(prompts, 20, config(8, 24), 6, true, tight);
        assertTrue(tight.preempted > 0, "6 blocks of 16 cannot hold 8 sequences of up to 80 tokens");
        assertEquals(roomy.keySet(), cramped.keySet());
        roomy.forEach((id, t) -> assertEquals(t, cramped.get(id), id));
    }

    @Test
    void decodesComeFirstAndTheTokenBudgetChunksPrefills() {
        Scheduler s = new Scheduler(config(4, 10), new KvCacheManager(100, 16, true), new RecordingSink());
        FakeRunner runner = new FakeRunner();
        s.add(seq("short", new int[] {101, 102}, 50, 0));
        SchedulerOutput prefill = s.schedule(); // "short": its 2-token prompt, then it decodes
        s.update(prefill, runner.execute(prefill));
        s.add(seq("long", new int[25], 50, 0));
        SchedulerOutput step = s.schedule();
        assertEquals("short", step.entries().get(0).requestId(), "the running decode comes first");
        assertEquals(1, step.entries().get(0).numTokens());
        SchedulerOutput.Entry chunk = step.entries().get(1);
        assertEquals("long", chunk.requestId());
        assertEquals(9, chunk.numTokens(), "what is left of the 10-token budget");
        assertFalse(chunk.sample(), "a prefill chunk that does not reach the end samples nothing");
        assertEquals(10, step.numTokens());
        s.update(step, runner.execute(step));
        SchedulerOutput next = s.schedule();
        assertEquals(9, next.entries().get(1).past(), "the next chunk starts where the first ended");
    }

    @Test
    void higherPriorityIsAdmittedFirst() {
        RecordingSink sink = new RecordingSink();
        Scheduler s = new Scheduler(config(1, 64), new KvCacheManager(100, 16, true), sink);
        s.add(seq("low", new int[] {101}, 3, 5));
        s.add(seq("high", new int[] {102}, 3, 0));
        s.add(seq("low-older-than-mid", new int[] {103}, 3, 5));
        s.add(seq("mid", new int[] {104}, 3, 1));
        runToEnd(s, new FakeRunner());
        assertEquals(List.of("high", "mid", "low", "low-older-than-mid"), sink.admitted);
    }

    @Test
    void stopIdsStopStringsAndMaxTokensEndSequences() {
        RecordingSink sink = new RecordingSink();
        sink.stopString = t -> t.size() == 3;
        Scheduler s = new Scheduler(config(8, 64), new KvCacheManager(100, 16, true), sink);
        Sequence stopString = seq("stop-string", new int[] {101, 102}, 10, 0);
        Sequence length = seq("length", new int[] {101, 103}, 2, 0);
        s.add(stopString);
        s.add(length);
        runToEnd(s, new FakeRunner());
        assertEquals(FinishReason.STOP_STRING, sink.finished.get("stop-string"));
        assertEquals(3, stopString.outputLength());
        assertEquals(FinishReason.LENGTH, sink.finished.get("length"));
        assertEquals(2, length.outputLength());

        RecordingSink stops = new RecordingSink();
        Scheduler t = new Scheduler(config(8, 64), new KvCacheManager(100, 16, true), stops);
        Sequence stopId = seq("stop-id", new int[] {101}, 10, 0);
        t.add(stopId);
        SchedulerOutput out = t.schedule();
        t.update(out, new ModelRunnerOutput(List.of(SampleResult.of(STOP))));
        assertEquals(FinishReason.STOP, stops.finished.get("stop-id"));
        assertEquals(0, stopId.outputLength(), "a stop id is never part of the output");
        assertFalse(stops.tokens.containsKey("stop-id"));
    }

    @Test
    void cancelDeadlineAndAFailedStepFreeTheirBlocks() {
        RecordingSink sink = new RecordingSink();
        Scheduler s = new Scheduler(config(8, 64), new KvCacheManager(100, 16, true), sink);
        FakeRunner runner = new FakeRunner();
        s.add(seq("cancelled", new int[40], 100, 0));
        s.add(seq("failed", new int[20], 100, 0));
        s.add(new Sequence("expired", new int[] {1}, 0, Instant.now().minusSeconds(1),
                new SequenceSampler(SamplingParams.greedy(5), new int[] {1}), Set.of(), ++arrivals, 1.0, 5, null));
        SchedulerOutput first = s.schedule();
        assertEquals(FinishReason.DEADLINE, sink.finished.get("expired"));
        s.update(first, runner.execute(first));
        assertTrue(s.blocksUsed() > 0);
        s.cancel("cancelled", FinishReason.CANCELLED);
        SchedulerOutput second = s.schedule();
        assertEquals(FinishReason.CANCELLED, sink.finished.get("cancelled"));
        assertEquals(1, second.entries().size());
        s.fail(second, "boom");
        assertEquals(FinishReason.ERROR, sink.finished.get("failed"));
        assertEquals("boom", sink.messages.get("failed"));
        assertEquals(0, s.blocksUsed());
        assertFalse(s.hasWork());
        s.checkInvariants();
    }

    @Test
    void aSequenceLargerThanTheWholeCacheEndsWithLength() {
        RecordingSink sink = new RecordingSink();
        Scheduler s = new Scheduler(config(8, 512), new KvCacheManager(2, 16, true), sink);
        s.add(seq("huge", new int[40], 5, 0));
        s.add(seq("fits", new int[] {101}, 3, 0));
        runToEnd(s, new FakeRunner());
        assertEquals(FinishReason.LENGTH, sink.finished.get("huge"));
        assertTrue(sink.messages.get("huge").contains("cannot hold"), sink.messages.toString());
        assertEquals(FinishReason.LENGTH, sink.finished.get("fits"));
        assertEquals(3, sink.tokens.get("fits").size());
    }

    /** Groups of prompts that share a prefix (some a whole number of blocks long, some not), with different tails. */
    static List<int[]> sharedPrefixPrompts(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int group = 0; group < 4; group++) {
            int[] prefix = r.ints(group == 0 ? 32 : 10 + r.nextInt(40), 100, 5000).toArray();
            for (int i = 0; i < 4; i++) {
                int[] tail = r.ints(i == 3 ? 0 : 1 + r.nextInt(20), 100, 5000).toArray();
                int[] p = Arrays.copyOf(prefix, prefix.length + tail.length);
                System.arraycopy(tail, 0, p, prefix.length, tail.length);
                out.add(p);
            }
        }
        return out;
    }

    @Test
    void prefixCachingNeverChangesTheOutputAndSkipsSharedBlocks() {
        List<int[]> prompts = sharedPrefixPrompts(5);
        Map<String, List<Integer>> plain = generate(prompts, 12, config(3, 40), 1000, false, new RecordingSink());
        RecordingSink sink = new RecordingSink();
        Scheduler s = new Scheduler(config(3, 40), new KvCacheManager(1000, 16, true), sink);
        for (int i = 0; i < prompts.size(); i++) {
            s.add(seq("r" + i, prompts.get(i), 12, 0));
        }
        FakeRunner runner = new FakeRunner();
        runToEnd(s, runner);
        plain.forEach((id, t) -> assertEquals(t, sink.tokens.get(id), id));
        long computed = runner.steps.stream().mapToLong(SchedulerOutput::numTokens).sum();
        long uncached = prompts.stream().mapToLong(p -> p.length + 11).sum();
        assertTrue(computed < uncached, "shared prefixes were computed once: " + computed + " of " + uncached + " tokens");
    }

    @Test
    void preemptedSequencesRestartFromTheirCachedBlocks() {
        List<int[]> prompts = prompts(12, 9);
        RecordingSink tight = new RecordingSink();
        Map<String, List<Integer>> cramped = generate(prompts, 20, config(8, 24), 7, true, tight);
        assertTrue(tight.preempted > 0);
        Map<String, List<Integer>> roomy = generate(prompts, 20, config(64, 512), 1000, false, new RecordingSink());
        roomy.forEach((id, t) -> assertEquals(t, cramped.get(id), id));
    }

    @Test
    void aPromptThatIsAllCachedStillComputesItsLastToken() {
        Scheduler s = new Scheduler(config(8, 64), new KvCacheManager(100, 16, true), new RecordingSink());
        FakeRunner runner = new FakeRunner();
        int[] prompt = new int[32];
        Arrays.fill(prompt, 101);
        s.add(seq("first", prompt, 2, 0));
        runToEnd(s, runner);
        s.add(seq("again", prompt, 2, 0));
        SchedulerOutput step = s.schedule();
        SchedulerOutput.Entry e = step.entries().get(0);
        assertEquals(16, e.past(), "one full block from the cache; the block of the last token is computed");
        assertEquals(16, e.numTokens());
        assertEquals(s.blocksUsed(), 2);
    }

    @Test
    void stepValuesAreCopiesTheSchedulerKeepsToItself() {
        Scheduler s = new Scheduler(config(8, 64), new KvCacheManager(100, 16, true), new RecordingSink());
        Sequence a = seq("a", new int[] {101, 102, 103}, 5, 0);
        s.add(a);
        SchedulerOutput out = s.schedule();
        SchedulerOutput.Entry e = out.entries().get(0);
        e.tokens()[0] = -1;
        e.blockTable()[0] = -1;
        assertEquals(101, a.tokenAt(0));
        assertArrayEquals(new int[] {a.blocks.get(0)}, Arrays.copyOf(a.blockTable(), 1));
        assertNotEquals(-1, a.blocks.get(0));
    }
}
