package io.qwenserve.engine.structured;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * The regular tokens that can continue a constrained output from one state, and whether the output may end there.
 * Kept as a bitset over the vocabulary, or as a sorted id list when few tokens are allowed (most states inside
 * keys, literals and numbers), whichever is smaller. Immutable.
 */
public final class TokenMask {
    private static final int[] NO_IDS = new int[0];

    private final int vocabSize;
    private final long[] bits;
    private final int[] ids;
    private final int count;
    private final boolean endAllowed;
    /** The smaller side for applying the mask to logits: allowed ids, or disallowed ids below vocabSize (lazy). */
    private long[] applyIds;

    private TokenMask(int vocabSize, long[] bits, int[] ids, int count, boolean endAllowed) {
        this.vocabSize = vocabSize;
        this.bits = bits;
        this.ids = ids;
        this.count = count;
        this.endAllowed = endAllowed;
    }

    /** From a bitset of allowed ids; switches to an id list when that is smaller. */
    static TokenMask of(int vocabSize, long[] bits, int count, boolean endAllowed) {
        if ((long) count * 4 < (long) bits.length * 8) {
            int[] ids = new int[count];
            int k = 0;
            for (int w = 0; w < bits.length; w++) {
                for (long x = bits[w]; x != 0; x &= x - 1) {
                    ids[k++] = (w << 6) + Long.numberOfTrailingZeros(x);
                }
            }
            return new TokenMask(vocabSize, null, count == 0 ? NO_IDS : ids, count, endAllowed);
        }
        return new TokenMask(vocabSize, bits, null, count, endAllowed);
    }

    /** Whether regular token {@code id} may come next (end-of-sequence ids: see {@link #endAllowed()}). */
    public boolean allows(int id) {
        if (id < 0 || id >= vocabSize) {
            return false;
        }
        return bits != null ? (bits[id >>> 6] & (1L << id)) != 0 : Arrays.binarySearch(ids, id) >= 0;
    }

    /** Whether the output is complete here, so end-of-sequence may come next. */
    public boolean endAllowed() {
        return endAllowed;
    }

    /** Number of regular tokens allowed. */
    public int count() {
        return count;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Calls {@code action} with each allowed regular token id, ascending. */
    public void forEachAllowed(IntConsumer action) {
        if (ids != null) {
            for (int id : ids) {
                action.accept(id);
            }
            return;
        }
        for (int w = 0; w < bits.length; w++) {
            for (long x = bits[w]; x != 0; x &= x - 1) {
                action.accept((w << 6) + Long.numberOfTrailingZeros(x));
            }
        }
    }

    /** The {@code k}-th allowed regular token id, ascending ({@code 0 <= k < count()}): a uniform draw's pick. */
    public int allowed(int k) {
        if (k < 0 || k >= count) {
            throw new IndexOutOfBoundsException("allowed token " + k + " of " + count);
        }
        if (ids != null) {
            return ids[k];
        }
        for (int w = 0; ; w++) {
            int c = Long.bitCount(bits[w]);
            if (k < c) {
                long x = bits[w];
                for (int i = 0; i < k; i++) {
                    x &= x - 1;
                }
                return (w << 6) + Long.numberOfTrailingZeros(x);
            }
            k -= c;
        }
    }

    /** The allowed ids as a bitset of {@code ceil(vocabSize / 64)} words (a copy). */
    public long[] toBits() {
        if (bits != null) {
            return bits.clone();
        }
        long[] out = new long[(vocabSize + 63) >>> 6];
        for (int id : ids) {
            out[id >>> 6] |= 1L << id;
        }
        return out;
    }

    /** Whether {@link #applyIds()} lists the allowed ids (few) rather than the disallowed ones (few, for a wide mask). */
    public boolean appliesAllowed() {
        return count <= vocabSize / 2;
    }

    /**
     * The ids to keep ({@link #appliesAllowed()}) or to drop, whichever list is shorter, computed once per mask and
     * shared by every request whose sequence reaches this state.
     */
    public long[] applyIds() {
        long[] a = applyIds;
        if (a == null) {
            boolean keep = appliesAllowed();
            a = new long[keep ? count : vocabSize - count];
            int k = 0;
            for (int id = 0; id < vocabSize; id++) {
                if (allows(id) == keep) {
                    a[k++] = id;
                }
            }
            applyIds = a;
        }
        return a;
    }

    /** Heap held. */
    public long bytes() {
        return 40 + (bits != null ? 16 + 8L * bits.length : 16 + 4L * ids.length)
                + 16 + 8L * (appliesAllowed() ? count : vocabSize - count); // applyIds, once made
    }
}
