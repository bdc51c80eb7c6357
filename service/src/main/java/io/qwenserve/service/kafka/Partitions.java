package io.qwenserve.service.kafka;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The request partitions assigned to this replica, as the poll thread keeps them: each one's {@link OffsetTracker} and
 * the generations running for it. A partition given up (revoked or lost) takes its generations with it: they are
 * abandoned, and the next owner redoes them. Owned by the poll thread.
 */
final class Partitions {
    private final Map<TopicPartition, OffsetTracker> trackers = new HashMap<>();
    private final Map<TopicPartition, Set<InFlightRequest>> generating = new HashMap<>();

    /** @param position where the partition's reading starts (its committed offset) */
    void assigned(TopicPartition tp, long position) {
        trackers.put(tp, new OffsetTracker(position));
    }

    /** The partition's tracker, or null when it is not assigned (any more). */
    OffsetTracker tracker(TopicPartition tp) {
        return trackers.get(tp);
    }

    Set<TopicPartition> all() {
        return trackers.keySet();
    }

    int size() {
        return trackers.size();
    }

    void started(TopicPartition tp, InFlightRequest g) {
        generating.computeIfAbsent(tp, k -> new HashSet<>()).add(g);
    }

    void ended(TopicPartition tp, InFlightRequest g) {
        Set<InFlightRequest> running = generating.get(tp);
        if (running != null) {
            running.remove(g);
        }
    }

    /** The commit points that moved since the last commit; they count as committed from now on. */
    Map<TopicPartition, OffsetAndMetadata> toCommit() {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        trackers.forEach((tp, t) -> t.toCommit().ifPresent(o -> offsets.put(tp, new OffsetAndMetadata(o))));
        offsets.forEach((tp, o) -> trackers.get(tp).committed(o.offset()));
        return offsets;
    }

    /** The commit point of each of these partitions that is assigned. */
    Map<TopicPartition, OffsetAndMetadata> commitPoints(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : partitions) {
            OffsetTracker t = trackers.get(tp);
            if (t != null) {
                offsets.put(tp, new OffsetAndMetadata(t.commitPoint()));
            }
        }
        return offsets;
    }

    /** Since when (nanoTime) the oldest record still failing to be answered or dead-lettered has failed; MAX_VALUE: none. */
    long failingSinceNanos() {
        return trackers.values().stream().map(OffsetTracker::failingSince).filter(OptionalLong::isPresent)
                .mapToLong(OptionalLong::getAsLong).min().orElse(Long.MAX_VALUE);
    }

    /** Forgets these partitions and abandons their generations (no terminal reply: handed back); returns how many. */
    int giveUp(Collection<TopicPartition> partitions) {
        int abandoned = 0;
        for (TopicPartition tp : partitions) {
            Set<InFlightRequest> running = generating.remove(tp);
            if (running != null) {
                running.forEach(InFlightRequest::abandon);
                abandoned += running.size();
            }
            trackers.remove(tp);
        }
        return abandoned;
    }
}
