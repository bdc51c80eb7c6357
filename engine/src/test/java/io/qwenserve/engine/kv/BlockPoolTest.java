package io.qwenserve.engine.kv;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Reference counts, the LRU free list and the prefix cache's keys. */
class BlockPoolTest {
    private static BlockPool.Key key(long parent, int... tokens) {
        return new BlockPool.Key(parent, tokens, 1.0);
    }

    @Test
    void evictionTakesTheLeastRecentlyUsedFreeBlockAndNeverAHeldOne() {
        BlockPool pool = new BlockPool(4);
        int a = pool.allocate();
        int b = pool.allocate();
        int c = pool.allocate();
        long ka = pool.cache(a, key(BlockPool.ROOT, 1));
        pool.cache(b, key(ka, 2));
        pool.cache(c, key(BlockPool.ROOT, 3));
        pool.release(c); // freed first: the least recently used
        pool.release(b);
        assertEquals(3, pool.free());
        assertEquals(3, pool.cachedBlocks());
        int d = pool.allocate(); // the never-used block comes first in the free list
        assertNotEquals(a, d);
        int e = pool.allocate();
        assertEquals(c, e, "the least recently freed cached block is evicted first");
        assertEquals(-1, pool.lookup(key(BlockPool.ROOT, 3)), "its contents are forgotten");
        assertEquals(b, pool.lookup(key(ka, 2)), "the other cached free block still holds its contents");
        assertEquals(b, pool.allocate(), "b is the only free block left");
        assertEquals(-1, pool.allocate(), "a is held: never taken");
        assertEquals(a, pool.lookup(key(BlockPool.ROOT, 1)));
    }

    @Test
    void aClaimedBlockLeavesTheFreeListAndCountsItsHolders() {
        BlockPool pool = new BlockPool(2);
        int a = pool.allocate();
        pool.cache(a, key(BlockPool.ROOT, 5, 6));
        pool.release(a);
        assertEquals(2, pool.free());
        pool.claim(a);
        pool.claim(a);
        assertEquals(2, pool.refCount(a));
        assertEquals(1, pool.free());
        pool.release(a);
        assertEquals(1, pool.free(), "still held once");
        pool.release(a);
        assertEquals(2, pool.free());
        assertThrows(IllegalStateException.class, () -> pool.release(a));
    }

    @Test
    void cachingTheSameContentsTwiceKeepsTheFirstBlockAndItsId() {
        BlockPool pool = new BlockPool(3);
        int a = pool.allocate();
        int b = pool.allocate();
        long first = pool.cache(a, key(BlockPool.ROOT, 9, 9));
        assertEquals(first, pool.cache(b, key(BlockPool.ROOT, 9, 9)), "the same contents are named by one cache id");
        assertEquals(a, pool.lookup(key(BlockPool.ROOT, 9, 9)));
        assertEquals(1, pool.cachedBlocks());
        assertThrows(IllegalStateException.class, () -> pool.cacheId(b), "the duplicate stays uncached");
    }

    @Test
    void keysCompareTokensParentsAndExtras() {
        assertEquals(key(3, 1, 2), key(3, 1, 2));
        assertNotEquals(key(3, 1, 2), key(4, 1, 2));
        assertNotEquals(key(3, 1, 2), key(3, 2, 1));
        assertNotEquals(key(3, 1, 2), new BlockPool.Key(3, new int[] {1, 2}, 1.5), "another NTK alpha: other K/V");
    }

    @Test
    void aKeyWhoseParentWasEvictedNeverMatchesAgain() {
        BlockPool pool = new BlockPool(2);
        int parent = pool.allocate();
        long oldId = pool.cache(parent, key(BlockPool.ROOT, 1));
        pool.release(parent);
        pool.allocate(); // the untouched block
        int reused = pool.allocate(); // evicts the parent
        assertEquals(parent, reused);
        long newId = pool.cache(reused, key(BlockPool.ROOT, 1)); // the same contents again, cached anew
        assertNotEquals(oldId, newId, "cache ids are never reused");
    }
}
