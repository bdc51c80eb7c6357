package io.qwenserve.engine.sched;

import io.qwenserve.engine.kv.BlockPool;

/**
 * The KV blocks' bookkeeping, made and owned here alone: grows a sequence's block table to cover a number of tokens,
 * or frees it. The tensors the blocks index live in {@link io.qwenserve.engine.kv.PagedKvCache}.
 */
final class KvCacheManager {
    private final BlockPool pool;
    private final int blockSize;

    KvCacheManager(int numBlocks, int blockSize) {
        this.pool = new BlockPool(numBlocks);
        this.blockSize = blockSize;
    }

    int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** Whether the sequence's table can grow to hold {@code tokens} positions with the blocks free now. */
    boolean canCover(Sequence s, int tokens) {
        return blocksFor(tokens) - s.blocks.size() <= pool.free();
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

    void free(Sequence s) {
        for (int b : s.blocks) {
            pool.release(b);
        }
        s.blocks.clear();
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
}
