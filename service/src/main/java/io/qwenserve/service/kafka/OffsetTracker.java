package io.qwenserve.service.kafka;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * At-least-once bookkeeping of one request partition: which dispatched offsets are still unfinished, and so how far
 * the group's committed offset may advance. Requests finish out of order; the commit point is always the lowest
 * unfinished offset (or one past the highest dispatched one when none is unfinished), so a replica that dies redoes
 * exactly the records that never got their terminal reply. It also counts, per unfinished offset, the failed attempts
 * to answer or dead-letter it and when the first one failed: an offset failing for long holds the partition still.
 * Owned by the poll thread.
 */
final class OffsetTracker {
    private final TreeSet<Long> unfinished = new TreeSet<>();
    /** Offset -> {first failure (nanoTime), failed attempts}. */
    private final Map<Long, long[]> failing = new HashMap<>();
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
        failing.remove(offset);
    }

    /** Whether {@code offset} was dispatched and has not finished. */
    boolean pending(long offset) {
        return unfinished.contains(offset);
    }

    /** An attempt to answer or dead-letter {@code offset} failed; returns the failed attempts so far. */
    int failed(long offset, long nowNanos) {
        long[] f = failing.computeIfAbsent(offset, k -> new long[] {nowNanos, 0});
        return (int) ++f[1];
    }

    /** Since when (nanoTime) the oldest still-failing offset has been failing, or empty when none is. */
    OptionalLong failingSince() {
        return failing.values().stream().mapToLong(f -> f[0]).min();
    }

    /** Where the committed offset may go: the lowest unfinished offset, or past the last dispatched one. */
    long commitPoint() {
        return unfinished.isEmpty() ? next : unfinished.first();
    }

    /** One past the highest dispatched offset: where reading resumes after an interrupted poll. */
    long next() {
        return next;
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
