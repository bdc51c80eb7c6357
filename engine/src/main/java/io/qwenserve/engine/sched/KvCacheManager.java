package io.qwenserve.engine.sched;

import io.qwenserve.engine.kv.BlockPool;

/**
 * The KV blocks' bookkeeping, made and owned here alone: grows a sequence's block table to cover a number of tokens,
 * frees it, and (with prefix caching) lets a new sequence start from cached full blocks of the same prefix and caches
 * the full blocks a step completes. The tensors the blocks index live in {@link io.qwenserve.engine.kv.PagedKvCache}.
 *
 * <p>A block is never written while shared: a sequence only writes positions at or after its {@code computed}, and
 * the blocks it shares (claimed from the cache) end before that. At least the last known token is always computed.
 */
final class KvCacheManager {
    private final BlockPool pool;
    private final int blockSize;
    private final boolean prefixCaching;
    private long queries;
    private long hits;

    KvCacheManager(int numBlocks, int blockSize, boolean prefixCaching) {
        this.pool = new BlockPool(numBlocks);
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
    }

    int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** Grows the sequence's table to hold {@code tokens} positions; false (and no change) if blocks are short. */
    boolean cover(Sequence s, int tokens) {
        int need = blocksFor(tokens) - s.blocks.size();
        if (need > pool.free()) {
            return false;
        }
        for (int i = 0; i < need; i++) {
            s.blocks.add(pool.allocate());
        }
        return true;
    }

    /**
     * For a sequence with nothing computed: claims the longest run of cached full blocks holding its known tokens'
     * prefix (never the block of its last token), and returns the tokens they hold.
     */
    int matchPrefix(Sequence s) {
        if (!prefixCaching) {
            return 0;
        }
        if (s.computed != 0 || !s.blocks.isEmpty()) {
            throw new IllegalStateException(s + " already has computed tokens");
        }
        int max = (s.known() - 1) / blockSize;
        long parent = s.prefixRoot; // blocks computed with a LoRA adapter are only shared with the same adapter
        for (int i = 0; i < max; i++) {
            int b = pool.lookup(key(s, i, parent));
            if (b < 0) {
                break;
            }
            pool.claim(b);
            s.blocks.add(b);
            parent = pool.cacheId(b);
            s.chain.add(parent);
        }
        return s.blocks.size() * blockSize;
    }

    boolean prefixCaching() {
        return prefixCaching;
    }

    /** Counts one admitted lookup: {@code queried} known tokens, {@code hit} of them found cached. */
    void countLookup(int queried, int hit) {
        queries += queried;
        hits += hit;
    }

    /** Caches the sequence's blocks that its computed tokens have filled since the last call. */
    void cacheFullBlocks(Sequence s) {
        if (!prefixCaching) {
            return;
        }
        for (int i = s.chain.size(); i < s.computed / blockSize; i++) {
            long parent = i == 0 ? s.prefixRoot : s.chain.get(i - 1);
            s.chain.add(pool.cache(s.blocks.get(i), key(s, i, parent)));
        }
    }

    private BlockPool.Key key(Sequence s, int block, long parent) {
        return new BlockPool.Key(parent, s.tokens(block * blockSize, blockSize), s.ntkAlpha);
    }

    /** Releases the sequence's blocks (cached ones keep their contents until reused), its tail first. */
    void free(Sequence s) {
        for (int i = s.blocks.size() - 1; i >= 0; i--) {
            pool.release(s.blocks.get(i));
        }
        s.blocks.clear();
        s.chain.clear();
    }

    int total() {
        return pool.total();
    }

    int used() {
        return pool.used();
    }

    int free() {
        return pool.free();
    }

    int refCount(int block) {
        return pool.refCount(block);
    }

    /** Known tokens looked up in the prefix cache so far (by admitted sequences). */
    long queries() {
        return queries;
    }

    /** Of those, tokens found cached. */
    long hits() {
        return hits;
    }

    @Override
    public String toString() {
        return "KvCacheManager[" + pool.used() + "/" + pool.total() + " used, " + pool.cachedBlocks() + " cached, blocks of "
                + blockSize + (prefixCaching ? ", prefix caching" : "") + "]";
    }
}
