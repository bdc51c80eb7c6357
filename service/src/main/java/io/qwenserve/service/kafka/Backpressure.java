package io.qwenserve.service.kafka;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jboss.logging.Logger;

/**
 * When the poll loop may try a deferred record again. A record this replica cannot take now (the engine's queue is
 * full, the engine is unavailable, its reply topic is not checked yet) stays in its topic; the next try comes once the
 * engine's queue has room (when that was the reason) or after a wait that doubles with each deferral in a row, from
 * {@link #FIRST_MS} to {@link #MAX_MS}. Owned by the poll thread.
 */
final class Backpressure {
    private static final Logger LOG = Logger.getLogger(Backpressure.class);
    static final long FIRST_MS = 20;
    static final long MAX_MS = 1000;

    private long untilNanos;
    private boolean forRoom;
    private int inARow;

    /** A record was deferred; {@code reason} is a metric label ({@code queue_full} waits for room). */
    void deferred(String reason) {
        forRoom = reason.equals("queue_full");
        if (inARow++ == 0) {
            LOG.infof("Kafka: holding request intake back (%s): records wait in their topic", reason);
        }
        untilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(MAX_MS, FIRST_MS << Math.min(10, inARow - 1)));
    }

    /** A record was taken: the backpressure is over. */
    void dispatched() {
        if (inARow > 0) {
            LOG.infof("Kafka: request intake resumed after %d deferrals", inARow);
        }
        inARow = 0;
    }

    /** Whether a deferred record must wait still; {@code engineHasRoom} ends the wait early when the queue was full. */
    boolean waiting(BooleanSupplier engineHasRoom) {
        return System.nanoTime() - untilNanos < 0 && !(forRoom && engineHasRoom.getAsBoolean());
    }

    /** Whether the last record read was deferred. */
    boolean active() {
        return inARow > 0;
    }
}
