package io.qwenserve.engine.kv;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Torch;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The paged KV cache: for every layer one K pool and one V pool of {@code numBlocks * blockSize} slots, allocated once.
 * Slot {@code b * blockSize + i} holds position {@code i} of block {@code b}. Tensors only: which sequence owns which
 * block is the scheduler's bookkeeping ({@link BlockPool}); attention reads K/V through the block tables it hands over.
 */
public final class PagedKvCache implements AutoCloseable {
    private final int blockSize;
    private final int numBlocks;
    private final Tensor[] k; // per layer [numSlots, kvHeads, headDim]
    private final Tensor[] v;
    private final Tensor[] kRows; // the same storage viewed as [numSlots, kvHeads * headDim]
    private final Tensor[] vRows;
    private final long bytes;

    public PagedKvCache(ModelConfig cfg, int numBlocks, int blockSize, Precision precision, Device device) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive");
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.k = new Tensor[cfg.numLayers()];
        this.v = new Tensor[cfg.numLayers()];
        this.kRows = new Tensor[cfg.numLayers()];
        this.vRows = new Tensor[cfg.numLayers()];
        long slots = (long) numBlocks * blockSize;
        for (int i = 0; i < cfg.numLayers(); i++) {
            // uninitialised: a slot is always written before it is read, and untouched pages cost no memory yet
            k[i] = torch.empty(new long[] {slots, cfg.numKvHeads(), cfg.headDim()}, Torch.options(precision.scalarType(), device), null);
            v[i] = torch.empty(new long[] {slots, cfg.numKvHeads(), cfg.headDim()}, Torch.options(precision.scalarType(), device), null);
            kRows[i] = k[i].view(slots, (long) cfg.kvSize());
            vRows[i] = v[i].view(slots, (long) cfg.kvSize());
        }
        this.bytes = bytesPerToken(cfg, precision) * slots;
    }

    /** K+V bytes one token occupies across all layers. */
    public static long bytesPerToken(ModelConfig cfg, Precision precision) {
        return 2L * cfg.numLayers() * cfg.numKvHeads() * cfg.headDim() * precision.bytes();
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

    public Tensor keys(int layer) {
        return k[layer];
    }

    public Tensor values(int layer) {
        return v[layer];
    }

    /** Keys of a layer as [numSlots, kvHeads * headDim] rows: gathering rows of a 2-D tensor is a plain copy. */
    public Tensor keyRows(int layer) {
        return kRows[layer];
    }

    public Tensor valueRows(int layer) {
        return vRows[layer];
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
        for (int i = 0; i < k.length; i++) {
            kRows[i].close();
            vRows[i].close();
            k[i].close();
            v[i].close();
        }
    }
}
