package io.qwenserve.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The KV-cache blocks' bookkeeping: reference counts, the free list, and the prefix cache over full blocks. Blocks are
 * numbered 0..numBlocks-1. Not thread-safe: the engine loop owns it.
 *
 * <pre>
 *   sequence A block table: [ 7 | 2 | 9 ]     positions 0..15 -> block 7, 16..31 -> block 2, 32..(len-1) -> block 9
 *   sequence B block table: [ 7 | 4 ]         B shares A's first full block (the same prefix): block 7 has 2 references
 *   free list (LRU first):  3 5 6 8 ...       a free block may still hold a cached full block, until it is reused
 * </pre>
 *
 * <p>A full block whose contents are final can be cached under a {@link Key}: its parent block's cache id, its token
 * ids, and whatever else shapes its K/V. Freed blocks keep their contents and key; a later sequence with the same
 * prefix claims them instead of recomputing. Allocation takes the least recently used free block and forgets its key
 * then. Cache ids are never reused, so a key whose parent was evicted can never match again: the chain is exact, with
 * no hash collisions (keys compare their token ids).
 */
public final class BlockPool {
    /** The parent of a sequence's first block. */
    public static final long ROOT = -1;

    /**
     * What a full block's K/V depend on.
     *
     * @param parent the cache id of the block before it ({@link #ROOT} for the first)
     * @param extra  anything else that changes its K/V (the dynamic-NTK alpha its sequence's keys were rotated with)
     */
    public record Key(long parent, int[] tokens, double extra) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.parent == parent && Double.compare(k.extra, extra) == 0 && Arrays.equals(k.tokens, tokens);
        }

        @Override
        public int hashCode() {
            return (Long.hashCode(parent) * 31 + Arrays.hashCode(tokens)) * 31 + Double.hashCode(extra);
        }

        @Override
        public String toString() {
            return "Key[parent=" + parent + ", tokens=" + Arrays.toString(tokens) + ", extra=" + extra + "]";
        }
    }

    private final int numBlocks;
    private final int[] refs;
    private final Key[] keys;
    private final long[] cacheIds;
    private final LinkedHashSet<Integer> free = new LinkedHashSet<>(); // least recently used first
    private final Map<Key, Integer> cached = new HashMap<>();
    private long nextCacheId;

    public BlockPool(int numBlocks) {
        if (numBlocks <= 0) {
            throw new IllegalArgumentException("numBlocks must be positive");
        }
        this.numBlocks = numBlocks;
        this.refs = new int[numBlocks];
        this.keys = new Key[numBlocks];
        this.cacheIds = new long[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            free.add(i);
        }
    }

    public int total() {
        return numBlocks;
    }

    /** Blocks no sequence holds (some may still hold cached contents). */
    public int free() {
        return free.size();
    }

    /** Blocks held by at least one sequence. */
    public int used() {
        return numBlocks - free.size();
    }

    /** Full blocks whose contents are cached (held or free). */
    public int cachedBlocks() {
        return cached.size();
    }

    public int refCount(int block) {
        return refs[block];
    }

    /** Takes the least recently used free block (evicting its cached contents), or returns -1 when none is left. */
    public int allocate() {
        Iterator<Integer> it = free.iterator();
        if (!it.hasNext()) {
            return -1;
        }
        int b = it.next();
        it.remove();
        if (keys[b] != null) {
            cached.remove(keys[b]);
            keys[b] = null;
        }
        refs[b] = 1;
        return b;
    }

    /** Drops one reference; a block nobody holds goes to the free list's most recently used end, contents kept. */
    public void release(int block) {
        if (block < 0 || block >= numBlocks || refs[block] == 0) {
            throw new IllegalStateException("block " + block + " released but not in use");
        }
        if (--refs[block] == 0) {
            free.add(block);
        }
    }

    /** The block caching {@code key}'s contents, or -1. */
    public int lookup(Key key) {
        Integer b = cached.get(key);
        return b == null ? -1 : b;
    }

    /** Takes one more reference on a cached block (taking it off the free list if nobody held it). */
    public void claim(int block) {
        if (keys[block] == null) {
            throw new IllegalStateException("block " + block + " is not cached");
        }
        if (refs[block]++ == 0) {
            free.remove(block);
        }
    }

    /**
     * Caches a held block's final contents under {@code key} and returns the cache id that names those contents. When
     * the same contents are cached already (another sequence computed them too), that block's id is returned and this
     * block stays uncached.
     */
    public long cache(int block, Key key) {
        if (refs[block] == 0) {
            throw new IllegalStateException("block " + block + " is not held");
        }
        Integer existing = cached.get(key);
        if (existing != null) {
            return cacheIds[existing];
        }
        if (keys[block] != null) {
            throw new IllegalStateException("block " + block + " is cached already");
        }
        keys[block] = key;
        cacheIds[block] = nextCacheId++;
        cached.put(key, block);
        return cacheIds[block];
    }

    /** The cache id of a cached block. */
    public long cacheId(int block) {
        if (keys[block] == null) {
            throw new IllegalStateException("block " + block + " is not cached");
        }
        return cacheIds[block];
    }
}
