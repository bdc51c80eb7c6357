package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.kv.BlockPool;
import io.qwenserve.engine.sample.SamplingParams;
import io.qwenserve.engine.sample.SequenceSampler;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * LoRA adapters in the scheduler: no more distinct adapters run at once than memory holds (the rest wait, in order),
 * entries carry their adapter, and the prefix cache keeps one tree per adapter.
 */
class SchedulerAdapterTest {
    private static final int STOP = 7;
    private static long arrivals;

    static Sequence seq(String id, int[] prompt, String adapter, long root) {
        SamplingParams p = SamplingParams.greedy(4);
        return new Sequence(id, prompt, 0, null, new SequenceSampler(p, prompt), Set.of(STOP), ++arrivals, 1.0, 4,
                null, adapter, root);
    }

    @Test
    void atMostMaxAdaptersRunAtOnceAndTheRestWaitInOrder() {
        SchedulerTest.RecordingSink sink = new SchedulerTest.RecordingSink();
        Scheduler s = new Scheduler(SchedulerTest.config(8, 256), new KvCacheManager(100, 16, false), sink, 1);
        s.add(seq("a1", new int[] {1, 2, 3}, "a", -2));
        s.add(seq("base", new int[] {4, 5}, null, BlockPool.ROOT));
        s.add(seq("b1", new int[] {6, 7}, "b", -3));
        s.add(seq("a2", new int[] {8, 9}, "a", -2));
        SchedulerOutput first = s.schedule();
        assertEquals(List.of("a1", "base"), first.entries().stream().map(SchedulerOutput.Entry::requestId).toList(),
                "b1 waits (a second adapter), and a2 behind it");
        assertEquals(List.of("a", "<base>"), first.entries().stream().map(e -> e.adapter() == null ? "<base>" : e.adapter()).toList());
        assertEquals(Set.of("a"), s.runningAdapters());
        SchedulerTest.FakeRunner runner = new SchedulerTest.FakeRunner();
        s.update(first, runner.execute(first));
        while (s.hasWork()) {
            SchedulerOutput out = s.schedule();
            assertTrue(s.runningAdapters().size() <= 1, "running adapters " + s.runningAdapters());
            s.update(out, runner.execute(out));
            s.checkInvariants();
        }
        assertEquals(List.of("a1", "base", "b1", "a2"), sink.admitted);
    }

    @Test
    void theSamePrefixIsCachedSeparatelyPerAdapter() {
        KvCacheManager kv = new KvCacheManager(100, 4, true);
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        Sequence base = seq("base", prompt, null, BlockPool.ROOT);
        base.computed = 0;
        assertTrue(kv.cover(base, prompt.length));
        base.computed = prompt.length;
        kv.cacheFullBlocks(base);
        assertEquals(8, kv.matchPrefix(seq("base2", prompt, null, BlockPool.ROOT)), "the base finds its own blocks");
        assertEquals(0, kv.matchPrefix(seq("lora", prompt, "a", BlockPool.ROOT - 1)), "an adapter does not reuse the base's K/V");
    }
}
