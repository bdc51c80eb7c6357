package io.qwenserve.engine.kv;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.DeviceMap;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Torch;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The paged KV cache: for every layer one pool of {@code numBlocks * blockSize} slots, allocated once, each slot holding
 * a token's keys and values side by side ({@code [2, kvHeads, headDim]}: K then V), on the layer's device (see
 * {@link DeviceMap}; the block tables are the same for every layer). Slot {@code b * blockSize + i}
 * holds position {@code i} of block {@code b}. Keys and values of a step's new tokens are written with one row copy and
 * a sequence's context is read with one row gather. Tensors only: which sequence owns which block is the scheduler's
 * bookkeeping ({@link BlockPool}); attention reads K/V through the block tables it hands over.
 *
 * <p>Keys are stored in the model's within-head order (see the model's rotary embedding), not the checkpoint's.
 */
public final class PagedKvCache implements AutoCloseable {
    private final int blockSize;
    private final int numBlocks;
    private final Tensor[] pools; // per layer [numSlots, 2 * kvHeads * headDim]: K then V of each slot
    private final long bytes;

    /** A cache with every layer's pool on {@code device}. */
    public PagedKvCache(ModelConfig cfg, int numBlocks, int blockSize, Precision precision, Device device) {
        this(cfg, numBlocks, blockSize, precision, DeviceMap.single(device, cfg.numLayers()));
    }

    /** A cache with each layer's pool on that layer's device. */
    public PagedKvCache(ModelConfig cfg, int numBlocks, int blockSize, Precision precision, DeviceMap devices) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive");
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.pools = new Tensor[cfg.numLayers()];
        long slots = (long) numBlocks * blockSize;
        try {
            for (int i = 0; i < cfg.numLayers(); i++) {
                // uninitialised: a slot is always written before it is read, and untouched pages cost no memory yet
                pools[i] = torch.empty(new long[] {slots, 2L * cfg.kvSize()}, Torch.options(precision.scalarType(), devices.forLayer(i)), null);
            }
        } catch (RuntimeException e) { // out of memory on a later device: release the pools made so far
            close();
            throw e;
        }
        this.bytes = bytesPerToken(cfg, precision) * slots;
    }

    /** K+V bytes one token occupies across all layers. */
    public static long bytesPerToken(ModelConfig cfg, Precision precision) {
        return bytesPerToken(cfg, precision, cfg.numLayers());
    }

    /** K+V bytes one token occupies in {@code layers} layers (a device's share of a split model). */
    public static long bytesPerToken(ModelConfig cfg, Precision precision, int layers) {
        return 2L * layers * cfg.numKvHeads() * cfg.headDim() * precision.bytes();
    }

    /** Blocks that fit in {@code budgetBytes}. */
    public static int blocksForBudget(ModelConfig cfg, Precision precision, int blockSize, long budgetBytes) {
        return (int) Math.max(1, budgetBytes / (bytesPerToken(cfg, precision) * blockSize));
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** A layer's pool as [numSlots, 2 * kvHeads * headDim] rows: keys in the first half of a row, values in the second. */
    public Tensor rows(int layer) {
        return pools[layer];
    }

    /** Writes the keys and values of new tokens, {@code kv} [T, 2 * kvHeads * headDim], into {@code slots} [T]. */
    public void write(int layer, Tensor slots, Tensor kv) {
        pools[layer].index_copy_(0, slots, kv);
    }

    public long bytes() {
        return bytes;
    }

    /** Blocks needed to hold {@code tokens} positions. */
    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    @Override
    public void close() {
        for (Tensor p : pools) {
            if (p != null) {
                p.close();
            }
        }
    }
}
