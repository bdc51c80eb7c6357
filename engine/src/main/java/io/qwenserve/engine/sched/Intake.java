package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.EngineRejectedException.Reason;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What stands between the submitting threads and the engine loop: the bound of the waiting queue (an atomic
 * reservation, so concurrent submits never overshoot it), the ids in flight, and the inbox of work for the loop. Once
 * closed (the loop is ending) nothing more gets in, so whatever got in before is seen by the loop's last pass.
 */
final class Intake {
    private final int queueSize;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    /** Submitted requests not yet scheduled (the waiting queue, including the inbox). */
    private final AtomicInteger queued = new AtomicInteger();
    private boolean open = true; // guarded by this

    Intake(int queueSize) {
        this.queueSize = queueSize;
    }

    /** Reserves queue places and registers the ids of a set of requests, all or none. */
    void reserve(List<String> ids) {
        int n = ids.size();
        if (queued.addAndGet(n) > queueSize) {
            queued.addAndGet(-n);
            throw new EngineRejectedException(Reason.QUEUE_FULL, "the waiting queue is full (" + queueSize + " requests)");
        }
        List<String> registered = new ArrayList<>(n);
        for (String id : ids) {
            if (!inFlight.add(id)) {
                release(registered, n);
                throw new EngineRejectedException(Reason.INVALID, "request_id", "request_id '" + id + "' is already in flight");
            }
            registered.add(id);
        }
    }

    private void release(List<String> ids, int places) {
        ids.forEach(inFlight::remove);
        queued.addAndGet(-places);
    }

    /** Hands reserved requests' work to the loop, or undoes the reservation and throws when the intake is closed. */
    synchronized void enqueue(List<String> ids, List<Runnable> work, Supplier<EngineRejectedException> closed) {
        if (!open) {
            release(ids, ids.size());
            throw closed.get();
        }
        inbox.addAll(work);
    }

    /** Work for the loop that needs no reservation (cancels, checks); runs even after close, in the loop's last pass. */
    void post(Runnable r) {
        inbox.add(r);
    }

    Runnable poll() {
        return inbox.poll();
    }

    boolean isEmpty() {
        return inbox.isEmpty();
    }

    /** A request left the waiting queue for the first time. */
    void admitted() {
        queued.decrementAndGet();
    }

    /** A request ended; {@code admitted} says whether it had left the waiting queue. */
    void ended(String id, boolean admitted) {
        if (!admitted) {
            queued.decrementAndGet();
        }
        inFlight.remove(id);
    }

    int queued() {
        return queued.get();
    }

    synchronized void close() {
        open = false;
    }
}
