package io.qwenserve.service.kafka;

import io.qwenserve.service.kafka.Done.Outcome;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * The poll loop over the request topic, on its own thread, which alone touches the consumer.
 *
 * <p>It never waits for generation: each record goes to the {@link RequestHandler} and ends later through
 * {@link #report}. While {@code maxInFlight} generations run, or after intake stopped for a shutdown, every assigned
 * partition is paused and records already fetched are sought back to; the loop keeps polling, so the group
 * membership stays alive however long generations take. Offsets are committed per partition up to the lowest
 * unfinished record ({@link OffsetTracker}). When a partition is revoked, what finished is committed and the rest of
 * its generations are abandoned: the new owner redoes exactly those.
 */
final class RequestConsumer implements Runnable, ConsumerRebalanceListener {
    private static final Logger LOG = Logger.getLogger(RequestConsumer.class);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final long LAG_REFRESH_MS = 2000;

    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private final RequestHandler handler;
    private final KafkaMetrics metrics;
    private final int maxInFlight;
    private final Map<TopicPartition, OffsetTracker> trackers = new HashMap<>();
    private final Map<TopicPartition, Set<InFlightRequest>> generating = new HashMap<>();
    private final Queue<Done> done = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inFlight;
    private final CountDownLatch intakeStopped = new CountDownLatch(1);
    private volatile boolean intake = true;
    private volatile boolean closing;
    private volatile int assigned;
    private boolean paused;
    private long lagRefreshedAt;

    /** @param inFlight generations running (this loop counts them; metrics and health read them) */
    RequestConsumer(Consumer<String, byte[]> consumer, String topic, RequestHandler handler, KafkaMetrics metrics, int maxInFlight,
                    AtomicInteger inFlight) {
        this.consumer = consumer;
        this.inFlight = inFlight;
        this.topic = topic;
        this.handler = handler;
        this.metrics = metrics;
        this.maxInFlight = maxInFlight;
    }

    /** Any thread: a request record ended. */
    void report(Done d) {
        done.add(d);
    }

    /** Any thread: dispatch no more records; returns once the loop has seen it (at most {@code timeout}). */
    void stopIntake(Duration timeout) throws InterruptedException {
        intake = false;
        intakeStopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Any thread: commit what finished, leave the group and end the loop. */
    void close() {
        closing = true;
    }

    int assignedPartitions() {
        return assigned;
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(topic), this);
        try {
            while (!closing) {
                if (!intake) {
                    intakeStopped.countDown();
                }
                finishDone();
                commit();
                flowControl();
                dispatch(consumer.poll(POLL));
                refreshLag();
            }
            finishDone();
            commitSync(trackers.keySet());
        } catch (RuntimeException e) {
            LOG.error("the Kafka request loop failed", e);
        } finally {
            intakeStopped.countDown();
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void dispatch(ConsumerRecords<String, byte[]> records) {
        for (TopicPartition tp : records.partitions()) {
            for (ConsumerRecord<String, byte[]> r : records.records(tp)) {
                if (!intake || inFlight.get() >= maxInFlight) {
                    consumer.seek(tp, r.offset()); // fetched again once the partition resumes
                    break;
                }
                trackers.get(tp).dispatched(r.offset());
                InFlightRequest g = handler.handle(r, this::report);
                if (g != null) {
                    generating.computeIfAbsent(tp, k -> new HashSet<>()).add(g);
                    inFlight.incrementAndGet();
                }
            }
        }
    }

    private void finishDone() {
        for (Done d; (d = done.poll()) != null; ) {
            InFlightRequest g = d.generation();
            if (g != null) {
                Set<InFlightRequest> running = generating.get(d.partition());
                if (running != null) {
                    running.remove(g);
                }
                inFlight.decrementAndGet();
                handler.released(g);
            }
            if (d.outcome() == Outcome.REPLY_FAILED) {
                handler.replyFailed(d.request(), d.failure(), this::report);
            }
            OffsetTracker t = trackers.get(d.partition());
            if (t != null && d.outcome().finished) {
                t.finished(d.offset());
            }
            metrics.ended(d.outcome());
        }
    }

    private void flowControl() {
        boolean pause = !intake || inFlight.get() >= maxInFlight;
        if (pause != paused) {
            if (pause) {
                consumer.pause(consumer.assignment());
            } else {
                consumer.resume(consumer.assignment());
            }
            paused = pause;
        }
    }

    /** Asynchronous; a failed commit is superseded by the next one, or by the synchronous one on revocation and close. */
    private void commit() {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        trackers.forEach((tp, t) -> t.toCommit().ifPresent(o -> offsets.put(tp, new OffsetAndMetadata(o))));
        if (!offsets.isEmpty()) {
            consumer.commitAsync(offsets, (o, e) -> {
                if (e != null) {
                    LOG.warnf("offset commit failed: %s", e.toString());
                }
            });
            offsets.forEach((tp, o) -> trackers.get(tp).committed(o.offset()));
        }
    }

    private void commitSync(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : partitions) {
            OffsetTracker t = trackers.get(tp);
            if (t != null) {
                offsets.put(tp, new OffsetAndMetadata(t.commitPoint()));
            }
        }
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(5));
        } catch (KafkaException e) {
            LOG.warnf("offset commit failed (the next owner redoes those requests): %s", e.toString());
        }
    }

    private void refreshLag() {
        long now = System.currentTimeMillis();
        if (now - lagRefreshedAt < LAG_REFRESH_MS || trackers.isEmpty()) {
            return;
        }
        lagRefreshedAt = now;
        try {
            consumer.endOffsets(trackers.keySet(), Duration.ofSeconds(2)).forEach((tp, end) -> {
                OffsetTracker t = trackers.get(tp);
                if (t != null && end != null) {
                    metrics.lag(tp, Math.max(0, end - t.committed()));
                }
            });
        } catch (KafkaException e) {
            LOG.debugf("end offsets unavailable: %s", e.toString());
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            trackers.put(tp, new OffsetTracker(consumer.position(tp)));
        }
        if (paused) {
            consumer.pause(partitions);
        }
        assigned = trackers.size();
        lagRefreshedAt = 0;
        if (!partitions.isEmpty()) {
            LOG.infof("request partitions assigned: %s", partitions);
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        finishDone();
        commitSync(partitions);
        giveUp(partitions, "revoked");
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        giveUp(partitions, "lost");
    }

    private void giveUp(Collection<TopicPartition> partitions, String why) {
        int abandoned = 0;
        for (TopicPartition tp : partitions) {
            Set<InFlightRequest> running = generating.remove(tp);
            if (running != null) {
                running.forEach(InFlightRequest::abandon);
                abandoned += running.size();
            }
            trackers.remove(tp);
            metrics.unassigned(tp);
        }
        assigned = trackers.size();
        if (!partitions.isEmpty()) {
            LOG.infof("request partitions %s: %s (%d generations handed back)", why, partitions, abandoned);
        }
    }
}
