package io.qwenserve.service.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;

/**
 * Records to try again later, on the poll thread: a request whose replies failed for a reason that may pass (the broker
 * away, a timeout) is redone, a dead letter that could not be sent is sent again. Waits grow exponentially with the
 * record's failed attempts, from {@link #FIRST_MS} to {@link #MAX_MS}. An entry belongs to one assignment of its
 * partition: it is dropped when the partition was revoked since, or the record finished.
 */
final class RetryQueue {
    static final long FIRST_MS = 250;
    static final long MAX_MS = 30_000;

    /** What to try again. */
    enum Kind { REDO, DEAD_LETTER }

    /** @param failed the report of the failure: the request, and for a dead letter its reason */
    record Entry(long dueNanos, Kind kind, OffsetTracker tracker, Done failed) {}

    private final PriorityQueue<Entry> queue = new PriorityQueue<>((a, b) -> Long.compare(a.dueNanos, b.dueNanos));

    /** The wait before attempt {@code failedAttempts + 1}. */
    static long backoffMillis(int failedAttempts) {
        return Math.min(MAX_MS, FIRST_MS << Math.min(20, Math.max(0, failedAttempts - 1)));
    }

    void schedule(Kind kind, OffsetTracker tracker, Done failed, int failedAttempts) {
        queue.add(new Entry(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMillis(failedAttempts)), kind, tracker, failed));
    }

    /** Puts an entry back, to run after {@code delayMs} (it could not run now). */
    void later(Entry e, long delayMs) {
        queue.add(new Entry(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs), e.kind(), e.tracker(), e.failed()));
    }

    /** Removes and returns the entries that are due. */
    List<Entry> due() {
        List<Entry> due = new ArrayList<>();
        long now = System.nanoTime();
        while (!queue.isEmpty() && queue.peek().dueNanos - now <= 0) {
            due.add(queue.poll());
        }
        return due;
    }

    /** Removes and returns every entry, due or not (the broker is back: no reason to wait longer). */
    List<Entry> all() {
        List<Entry> all = new ArrayList<>();
        while (!queue.isEmpty()) {
            all.add(queue.poll());
        }
        return all;
    }

    int size() {
        return queue.size();
    }
}
