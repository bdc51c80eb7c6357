package io.qwenserve.engine.structured;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Token masks by (grammar, state), shared by every request of the same format, least recently used first out
 * once their heap passes a byte budget. Thread-safe; the mask of a missing key is computed outside the lock (two
 * threads may compute the same mask once each; both results are equal).
 */
public final class MaskCache {
    private record Key(CompiledGrammar grammar, MatchState state) {}

    private final long maxBytes;
    private final LinkedHashMap<Key, TokenMask> masks = new LinkedHashMap<>(1024, 0.75f, true);
    private long bytes;
    private long hits, misses, evictions, computeNanos;

    public MaskCache(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("mask cache budget must be > 0 bytes");
        }
        this.maxBytes = maxBytes;
    }

    TokenMask get(CompiledGrammar grammar, MatchState state, Supplier<TokenMask> compute) {
        Key key = new Key(grammar, state);
        synchronized (this) {
            TokenMask m = masks.get(key);
            if (m != null) {
                hits++;
                return m;
            }
            misses++;
        }
        long t0 = System.nanoTime();
        TokenMask m = compute.get();
        long dt = System.nanoTime() - t0;
        synchronized (this) {
            computeNanos += dt;
            TokenMask old = masks.put(key, m);
            bytes += m.bytes() - (old != null ? old.bytes() : 0);
            for (Iterator<Map.Entry<Key, TokenMask>> it = masks.entrySet().iterator(); bytes > maxBytes && it.hasNext(); ) {
                Map.Entry<Key, TokenMask> e = it.next();
                if (e.getKey().equals(key)) {
                    continue;
                }
                bytes -= e.getValue().bytes();
                it.remove();
                evictions++;
            }
        }
        return m;
    }

    /** Drops every mask of {@code grammar} (when the grammar leaves the compiled-format cache). */
    synchronized void evict(CompiledGrammar grammar) {
        for (Iterator<Map.Entry<Key, TokenMask>> it = masks.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, TokenMask> e = it.next();
            if (e.getKey().grammar() == grammar) {
                bytes -= e.getValue().bytes();
                it.remove();
            }
        }
    }

    /** Counters since start. */
    public record Stats(int entries, long bytes, long maxBytes, long hits, long misses, long evictions, long computeNanos) {}

    public synchronized Stats stats() {
        return new Stats(masks.size(), bytes, maxBytes, hits, misses, evictions, computeNanos);
    }
}
