package io.qwenserve.engine.kv;

import java.util.ArrayDeque;
import java.util.BitSet;

/**
 * The free list of KV-cache blocks. Blocks are numbered 0..numBlocks-1; a block is either free or owned by exactly one
 * sequence. Not thread-safe: the engine loop owns it.
 *
 * <pre>
 *   sequence A block table: [ 7 | 2 | 9 ]     positions 0..15 -> block 7, 16..31 -> block 2, 32..(len-1) -> block 9
 *   sequence B block table: [ 4 ]
 *   free list:              3 5 6 8 ...
 * </pre>
 */
public final class BlockPool {
    private final int numBlocks;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final BitSet used;

    public BlockPool(int numBlocks) {
        if (numBlocks <= 0) {
            throw new IllegalArgumentException("numBlocks must be positive");
        }
        this.numBlocks = numBlocks;
        this.used = new BitSet(numBlocks);
        for (int i = 0; i < numBlocks; i++) {
            free.add(i);
        }
    }

    public int total() {
        return numBlocks;
    }

    public int free() {
        return free.size();
    }

    public int used() {
        return numBlocks - free.size();
    }

    /** Takes one free block, or returns -1 when none is left. */
    public int allocate() {
        Integer b = free.poll();
        if (b == null) {
            return -1;
        }
        used.set(b);
        return b;
    }

    public void release(int block) {
        if (block < 0 || block >= numBlocks || !used.get(block)) {
            throw new IllegalStateException("block " + block + " released but not in use");
        }
        used.clear(block);
        free.addFirst(block); // recently used blocks first: warmer in cache
    }
}
