package io.qwenserve.service.kafka;

import static org.junit.jupiter.api.Assertions.*;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The commit point never passes an unfinished record, whatever order records finish in. */
class OffsetTrackerTest {
    @Test
    void commitPointStopsAtTheLowestUnfinishedOffset() {
        OffsetTracker t = new OffsetTracker(10);
        assertEquals(OptionalLong.empty(), t.toCommit());
        t.dispatched(10);
        t.dispatched(11);
        t.dispatched(12);
        t.finished(11);
        t.finished(12);
        assertEquals(OptionalLong.empty(), t.toCommit(), "10 is still generating");
        t.finished(10);
        assertEquals(OptionalLong.of(13), t.toCommit());
        t.committed(13);
        assertEquals(OptionalLong.empty(), t.toCommit());
    }

    @Test
    void gapsInOffsetsAreSkipped() {
        OffsetTracker t = new OffsetTracker(0);
        t.dispatched(3); // 0..2 were transaction markers or compacted away
        t.dispatched(7);
        t.finished(7);
        assertEquals(3, t.commitPoint());
        t.finished(3);
        assertEquals(8, t.commitPoint());
    }

    @Test
    void aHandedBackRecordHoldsTheCommitPointForTheNextOwner() {
        OffsetTracker t = new OffsetTracker(5);
        t.dispatched(5);
        t.dispatched(6);
        t.finished(6); // 5 is handed back: never finished here
        assertEquals(5, t.commitPoint());
        assertEquals(1, t.unfinished());
    }

    @Test
    void failedAttemptsAreCountedUntilTheRecordFinishes() {
        OffsetTracker t = new OffsetTracker(0);
        t.dispatched(0);
        t.dispatched(1);
        assertEquals(OptionalLong.empty(), t.failingSince());
        assertEquals(1, t.failed(0, 100));
        assertEquals(2, t.failed(0, 200));
        assertEquals(1, t.failed(1, 150));
        assertEquals(OptionalLong.of(100), t.failingSince(), "the oldest failure");
        t.finished(0);
        assertEquals(OptionalLong.of(150), t.failingSince());
        assertFalse(t.pending(0));
        assertTrue(t.pending(1));
        assertEquals(2, t.next(), "reading resumes after the last dispatched record");
    }

    @Test
    void retryBackoffGrowsToItsCap() {
        assertEquals(RetryQueue.FIRST_MS, RetryQueue.backoffMillis(1));
        assertEquals(2 * RetryQueue.FIRST_MS, RetryQueue.backoffMillis(2));
        assertEquals(RetryQueue.MAX_MS, RetryQueue.backoffMillis(50));
    }
}
