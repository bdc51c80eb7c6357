package io.qwenserve.service.kafka;

import io.qwenserve.service.kafka.Done.Outcome;
import io.qwenserve.service.kafka.RequestHandler.Handling;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.jboss.logging.Logger;

/**
 * The poll loop over the request topic, on its own thread, which alone touches the consumer. It never waits for
 * generation: each record goes to the {@link RequestHandler} and ends later through {@link #report}.
 *
 * <p>Kafka is the buffer: while {@code maxInFlight} generations run, the engine does not accept work, the broker is
 * away, a record was just deferred ({@link Backpressure}) or intake stopped for a shutdown, the partitions are paused
 * and what was not dispatched is sought back to; the loop keeps polling (group membership stays alive) and the lag
 * grows for the autoscaler. Offsets are committed up to the lowest unfinished record ({@link Partitions},
 * {@link OffsetTracker}). Failed replies (redo) and dead letters are retried after a backoff ({@link RetryQueue}), all
 * at once when the broker is back; meanwhile the record holds its commit point ({@link #failingSinceNanos()}). A
 * revoked partition commits what finished and abandons the rest, which its new owner redoes; when the engine fails for
 * good the loop leaves the group. An iteration that throws anything is logged, the partitions are sought back to
 * their first record not dispatched, and the loop goes on.
 */
final class RequestConsumer implements Runnable, ConsumerRebalanceListener {
    private static final Logger LOG = Logger.getLogger(RequestConsumer.class);
    private static final Duration POLL = Duration.ofMillis(100);
    /** While paused only for capacity (in flight, the engine's queue): look again soon, so the engine never waits for the topic. */
    private static final Duration POLL_FOR_ROOM = Duration.ofMillis(10);
    private static final long LAG_REFRESH_MS = 2000;

    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private final RequestHandler handler;
    private final KafkaMetrics metrics;
    private final int maxInFlight;
    private final Partitions partitions = new Partitions();
    private final Queue<Done> done = new ConcurrentLinkedQueue<>();
    private final RetryQueue retries = new RetryQueue();
    private final AtomicInteger inFlight;
    private final BooleanSupplier brokerUp;
    private boolean brokerWasDown;
    private boolean left;
    private final CountDownLatch intakeStopped = new CountDownLatch(1);
    private volatile boolean intake = true;
    private volatile boolean closing;
    private volatile int assigned;
    private boolean paused;
    /** Whether intake is held back now: partitions paused, or the last record read was deferred (backpressure). */
    private volatile boolean holding;
    private volatile long heartbeatNanos = System.nanoTime();
    private volatile long failingSinceNanos = Long.MAX_VALUE;
    private final Backpressure backpressure = new Backpressure();
    private long lagRefreshedAt;

    /**
     * @param inFlight generations running (this loop counts them; metrics and health read them)
     * @param brokerUp whether the broker answered its last check: while it does not, nothing is dispatched nor retried
     */
    RequestConsumer(Consumer<String, byte[]> consumer, String topic, RequestHandler handler, KafkaMetrics metrics, int maxInFlight,
                    AtomicInteger inFlight, BooleanSupplier brokerUp) {
        this.consumer = consumer;
        this.brokerUp = brokerUp;
        this.inFlight = inFlight;
        this.topic = topic;
        this.handler = handler;
        this.metrics = metrics;
        this.maxInFlight = maxInFlight;
    }

    /** Any thread: a request record ended, or an attempt to answer it failed. */
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

    /** Whether intake is held back now (in-flight bound, backpressure, engine not accepting, shutdown). */
    boolean paused() {
        return holding;
    }

    /** When (nanoTime) the loop last completed an iteration. */
    long heartbeatNanos() {
        return heartbeatNanos;
    }

    /** Since when (nanoTime) the oldest record still failing to be answered or dead-lettered has failed; MAX_VALUE: none. */
    long failingSinceNanos() {
        return failingSinceNanos;
    }

    @Override
    public void run() {
        int failures = 0;
        try {
            consumer.subscribe(List.of(topic), this);
            while (!closing) {
                try {
                    iteration();
                    heartbeatNanos = System.nanoTime();
                    failures = 0;
                } catch (Throwable t) {
                    failures++;
                    LOG.errorf(t, "the Kafka request loop failed (%d in a row); going on", failures);
                    recover();
                    sleep(Math.min(5000, 100L << Math.min(6, failures)));
                }
            }
            finishDone();
            commitSync(partitions.all());
        } catch (Throwable t) {
            LOG.error("the Kafka request loop stopped", t);
        } finally {
            intakeStopped.countDown();
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (Throwable t) {
                LOG.warnf("closing the request consumer: %s", t.toString());
            }
        }
    }

    private void iteration() {
        if (!intake) {
            intakeStopped.countDown();
        }
        if (left || (handler.engineFailed() && leaveGroup())) {
            finishDone();
            sleep(POLL.toMillis()); // out of the group: nothing to poll; the engine's failure fails liveness
            return;
        }
        finishDone();
        runRetries();
        commit();
        flowControl();
        boolean forCapacity = paused && intake && brokerUp.getAsBoolean() && handler.engineAccepting();
        dispatch(consumer.poll(forCapacity ? POLL_FOR_ROOM : POLL));
        refreshLag();
        holding = paused || backpressure.active();
        failingSinceNanos = partitions.failingSinceNanos();
    }

    /**
     * The engine failed and will not serve again: commit what finished and leave the group, so that other replicas take
     * this replica's partitions (and redo its unfinished requests) now rather than after a restart.
     */
    private boolean leaveGroup() {
        LOG.error("the engine failed: leaving the consumer group so that other replicas take the request partitions");
        finishDone();
        consumer.unsubscribe(); // revokes: commits what finished, hands the rest back
        left = true;
        return true;
    }

    /** After a failed iteration: read again from the first record of each partition that was not dispatched. */
    private void recover() {
        try {
            for (TopicPartition tp : consumer.assignment()) {
                OffsetTracker t = partitions.tracker(tp);
                if (t != null) {
                    consumer.seek(tp, t.next());
                }
            }
        } catch (Throwable t) {
            LOG.warnf("could not seek back after the failure: %s", t.toString());
        }
    }

    private boolean canDispatch() {
        if (!intake || inFlight.get() >= maxInFlight || !handler.engineAccepting() || !brokerUp.getAsBoolean()) {
            return false;
        }
        return !backpressure.waiting(handler::engineHasRoom);
    }

    private void dispatch(ConsumerRecords<String, byte[]> records) {
        boolean stop = false;
        for (TopicPartition tp : records.partitions()) {
            OffsetTracker t = partitions.tracker(tp);
            for (ConsumerRecord<String, byte[]> r : records.records(tp)) {
                if (stop || t == null || !canDispatch()) {
                    consumer.seek(tp, r.offset()); // fetched again once the partitions resume
                    break;
                }
                Handling h = handler.handle(r, this::report);
                if (h instanceof Handling.Deferred d) {
                    consumer.seek(tp, r.offset()); // the record waits in its topic (backpressure)
                    backpressure.deferred(d.reason());
                    metrics.deferred(d.reason());
                    stop = true;
                    break;
                }
                backpressure.dispatched();
                t.dispatched(r.offset());
                if (h instanceof Handling.Started s) {
                    track(tp, s.generation());
                }
            }
        }
    }

    private void track(TopicPartition tp, InFlightRequest g) {
        partitions.started(tp, g);
        inFlight.incrementAndGet();
    }

    private void finishDone() {
        Done redone = null;
        Done undelivered = null;
        int redos = 0;
        int letters = 0;
        for (Done d; (d = done.poll()) != null; ) {
            InFlightRequest g = d.generation();
            if (g != null) {
                partitions.ended(d.partition(), g);
                inFlight.decrementAndGet();
                handler.released(g);
            }
            OffsetTracker t = partitions.tracker(d.partition());
            boolean current = t != null && t.pending(d.offset()); // not revoked (and re-assigned) since
            if (current && d.outcome().finished) {
                t.finished(d.offset());
            } else if (current && d.outcome() == Outcome.REPLY_FAILED) {
                if (d.failure() instanceof RetriableException) {
                    retries.schedule(RetryQueue.Kind.REDO, t, d, t.failed(d.offset(), System.nanoTime()));
                    metrics.retried("reply");
                    redone = redone == null ? d : redone;
                    redos++;
                } else {
                    handler.replyFailed(d.request(), d.failure(), this::report);
                }
            } else if (current && d.outcome() == Outcome.DEAD_LETTER_FAILED) {
                retries.schedule(RetryQueue.Kind.DEAD_LETTER, t, d, t.failed(d.offset(), System.nanoTime()));
                metrics.retried("dead_letter");
                undelivered = undelivered == null ? d : undelivered;
                letters++;
            }
            metrics.ended(d.outcome());
        }
        // one line per batch of failures: a broker that refuses many sends at once must not flood the log
        if (redos > 0) {
            LOG.warnf("replies of %d request(s) failed (e.g. %s: %s): redoing them after a backoff", redos, redone.request().requestId(),
                    redone.failure());
        }
        if (letters > 0) {
            LOG.warnf("could not dead-letter %d record(s) (e.g. %s-%d@%d: %s): trying again after a backoff; their offsets hold their "
                    + "partitions", letters, undelivered.partition().topic(), undelivered.partition().partition(), undelivered.offset(),
                    undelivered.failure());
        }
    }

    /** Retries that are due; none while the broker is away, and all of them at once when it is back. */
    private void runRetries() {
        if (!brokerUp.getAsBoolean()) {
            brokerWasDown = true;
            return;
        }
        List<RetryQueue.Entry> due = brokerWasDown ? retries.all() : retries.due();
        brokerWasDown = false;
        for (RetryQueue.Entry e : due) {
            Done d = e.failed();
            if (partitions.tracker(d.partition()) != e.tracker() || !e.tracker().pending(d.offset())) {
                continue; // revoked since, or finished
            }
            if (e.kind() == RetryQueue.Kind.DEAD_LETTER) {
                handler.deadLetter(d.request(), d.why(), this::report);
            } else if (!canDispatch()) {
                retries.later(e, Backpressure.MAX_MS);
            } else {
                Handling h = handler.handle(d.request().record(), this::report);
                if (h instanceof Handling.Deferred) {
                    retries.later(e, Backpressure.MAX_MS);
                } else if (h instanceof Handling.Started s) {
                    track(d.partition(), s.generation());
                }
            }
        }
    }

    private void flowControl() {
        boolean pause = !canDispatch();
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
        Map<TopicPartition, OffsetAndMetadata> offsets = partitions.toCommit();
        if (!offsets.isEmpty()) {
            consumer.commitAsync(offsets, (o, e) -> {
                if (e != null) {
                    LOG.warnf("offset commit failed: %s", e.toString());
                }
            });
        }
    }

    private void commitSync(Collection<TopicPartition> which) {
        Map<TopicPartition, OffsetAndMetadata> offsets = partitions.commitPoints(which);
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(5));
        } catch (KafkaException e) {
            LOG.warnf("offset commit failed (the next owner redoes those requests): %s", e.toString());
        }
    }

    private void refreshLag() {
        long now = System.currentTimeMillis();
        if (now - lagRefreshedAt < LAG_REFRESH_MS || partitions.size() == 0) {
            return;
        }
        lagRefreshedAt = now;
        try {
            consumer.endOffsets(partitions.all(), Duration.ofSeconds(2)).forEach((tp, end) -> {
                OffsetTracker t = partitions.tracker(tp);
                if (t != null && end != null) {
                    metrics.lag(tp, Math.max(0, end - t.committed()));
                }
            });
        } catch (KafkaException e) {
            LOG.debugf("end offsets unavailable: %s", e.toString());
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> added) {
        for (TopicPartition tp : added) {
            partitions.assigned(tp, consumer.position(tp));
        }
        if (paused) {
            consumer.pause(added);
        }
        assigned = partitions.size();
        lagRefreshedAt = 0;
        if (!added.isEmpty()) {
            LOG.infof("request partitions assigned: %s", added);
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
        finishDone();
        commitSync(revoked);
        giveUp(revoked, "revoked");
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
        giveUp(lost, "lost");
    }

    private void giveUp(Collection<TopicPartition> gone, String why) {
        int abandoned = partitions.giveUp(gone);
        gone.forEach(metrics::unassigned);
        assigned = partitions.size();
        if (!gone.isEmpty()) {
            LOG.infof("request partitions %s: %s (%d generations handed back)", why, gone, abandoned);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
