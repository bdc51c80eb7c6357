package io.qwenserve.service.kafka;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.HashMap;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cancellation by request id: the requests generating on this replica, and the ids cancelled in the last
 * {@link #MEMORY_MS} ms, so that a request whose cancellation arrived first (or that is redone after a failover)
 * still ends CANCELLED. Thread-safe: the poll thread registers, the control-topic thread cancels.
 */
final class CancelRegistry {
    static final long MEMORY_MS = 10 * 60_000;
    private static final int MAX_REMEMBERED = 100_000;

    private final Map<String, Set<InFlightRequest>> running = new ConcurrentHashMap<>();
    private final Map<String, Long> cancelledAt = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX_REMEMBERED || eldest.getValue() < System.currentTimeMillis() - MEMORY_MS;
        }
    };
    private final Map<String, CompletableFuture<Void>> awaited = new HashMap<>(); // guarded by cancelledAt

    /** Tracks a started request; cancels it at once when its id was cancelled recently. */
    void register(InFlightRequest r) {
        running.computeIfAbsent(r.requestId(), k -> ConcurrentHashMap.newKeySet()).add(r);
        if (cancelled(r.requestId())) {
            r.cancelByClient();
        }
    }

    void unregister(InFlightRequest r) {
        running.computeIfPresent(r.requestId(), (k, set) -> {
            set.remove(r);
            return set.isEmpty() ? null : set;
        });
    }

    /** Cancels every running request with this id on this replica, and remembers the id. */
    void cancel(String requestId) {
        CompletableFuture<Void> waiter;
        synchronized (cancelledAt) {
            cancelledAt.put(requestId, System.currentTimeMillis());
            waiter = awaited.remove(requestId);
        }
        if (waiter != null) {
            waiter.complete(null);
        }
        Set<InFlightRequest> rs = running.get(requestId);
        if (rs != null) {
            rs.forEach(InFlightRequest::cancelByClient);
        }
    }

    boolean cancelled(String requestId) {
        synchronized (cancelledAt) {
            Long t = cancelledAt.get(requestId);
            return t != null && t >= System.currentTimeMillis() - MEMORY_MS;
        }
    }

    /** Completes when a cancellation of {@code requestId} has been read (at once when one was read recently). */
    CompletableFuture<Void> whenCancelled(String requestId) {
        synchronized (cancelledAt) {
            return cancelled(requestId) ? CompletableFuture.completedFuture(null)
                    : awaited.computeIfAbsent(requestId, k -> new CompletableFuture<>());
        }
    }
}
