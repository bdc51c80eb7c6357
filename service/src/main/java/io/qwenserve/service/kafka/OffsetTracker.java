package io.qwenserve.service.kafka;

import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * At-least-once bookkeeping of one request partition: which dispatched offsets are still unfinished, and so how far
 * the group's committed offset may advance. Requests finish out of order; the commit point is always the lowest
 * unfinished offset (or one past the highest dispatched one when none is unfinished), so a replica that dies redoes
 * exactly the records that never got their terminal reply. Owned by the poll thread.
 */
final class OffsetTracker {
    private final TreeSet<Long> unfinished = new TreeSet<>();
    private long next;
    private long committed;

    /** @param position the partition's position when it was assigned (its committed offset) */
    OffsetTracker(long position) {
        this.next = position;
        this.committed = position;
    }

    void dispatched(long offset) {
        unfinished.add(offset);
        next = Math.max(next, offset + 1);
    }

    void finished(long offset) {
        unfinished.remove(offset);
    }

    /** Where the committed offset may go: the lowest unfinished offset, or past the last dispatched one. */
    long commitPoint() {
        return unfinished.isEmpty() ? next : unfinished.first();
    }

    /** The commit point when it moved past the last commit. */
    OptionalLong toCommit() {
        long point = commitPoint();
        return point > committed ? OptionalLong.of(point) : OptionalLong.empty();
    }

    void committed(long offset) {
        committed = Math.max(committed, offset);
    }

    long committed() {
        return committed;
    }

    int unfinished() {
        return unfinished.size();
    }
}
