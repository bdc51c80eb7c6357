package io.qwenserve.engine.kv;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.cuda.Cuda;
import io.qwenserve.engine.cuda.CudaDevice;
import io.qwenserve.engine.model.DeviceMap;
import io.qwenserve.engine.model.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * How many KV blocks an engine gets. A budget in tokens wins, else one in bytes. Without one:
 * <ul>
 *   <li>CPU: a quarter of the memory available now (at most 8 GiB, at least 64 MiB), never more than {@code maxSeqs}
 *   full-length sequences can use;</li>
 *   <li>CUDA: what is left of {@code gpuMemoryUtilization * total} device memory once the memory in use (the weights,
 *   the CUDA context, anything else on the device) and the activations of the largest step are taken off, as vLLM's
 *   {@code gpu_memory_utilization}. Extra blocks are not wasted there: the prefix cache keeps finished prompts in them.
 *   Over several devices each one holds its layers' K/V, and the cache gets the fewest blocks any device fits.</li>
 * </ul>
 * The memory readings are injected so every rule is testable on the CPU.
 */
public final class KvCacheSizing {
    static final long MIN_DEFAULT = 64L << 20;
    static final long MAX_DEFAULT = 8L << 30;
    static final double GIB = 1024.0 * 1024 * 1024;

    private KvCacheSizing() {}

    /** A device's memory, read after the weights are on it. */
    public record DeviceMemory(long free, long total) {}

    /** The blocks chosen and why, in words for the start log. */
    public record Plan(int blocks, int blockSize, long bytes, String rule) {
        public long tokens() {
            return (long) blocks * blockSize;
        }
    }

    /**
     * The plan for a model on {@code devices}: the CUDA rule with each device's memory read now (after the weights
     * loaded), the CPU rule with the host's.
     */
    public static Plan forDevices(ModelConfig cfg, Precision precision, DeviceMap devices, int blockSize, int budgetTokens,
                                  long budgetBytes, int maxSeqs, int maxBatchTokens, int maxModelLen, double utilization) {
        if (!devices.isCpu()) {
            List<DeviceShare> shares = new ArrayList<>();
            devices.layersPerDevice().forEach((name, layers) -> {
                CudaDevice d = Cuda.device(Integer.parseInt(name.substring(name.indexOf(':') + 1)));
                shares.add(new DeviceShare(name, layers, new DeviceMemory(d.freeBytes(), d.totalBytes())));
            });
            return cuda(cfg, precision, blockSize, budgetTokens, budgetBytes, utilization, shares,
                    activationBytes(cfg, precision, maxBatchTokens, maxSeqs, maxModelLen));
        }
        return cpu(cfg, precision, blockSize, budgetTokens, budgetBytes, maxSeqs, maxModelLen, KvCacheSizing::availableMemory);
    }

    /**
     * @param budgetTokens    KV budget in tokens, or 0
     * @param budgetBytes     KV budget in bytes, or 0
     * @param maxSeqs         most sequences in a step
     * @param maxModelLen     longest sequence
     * @param availableMemory bytes of memory available now, or -1 when unknown
     */
    public static int blocks(ModelConfig cfg, Precision precision, int blockSize, int budgetTokens, long budgetBytes, int maxSeqs,
                             int maxModelLen, LongSupplier availableMemory) {
        return cpu(cfg, precision, blockSize, budgetTokens, budgetBytes, maxSeqs, maxModelLen, availableMemory).blocks();
    }

    /** The CPU rule (see the class comment). */
    public static Plan cpu(ModelConfig cfg, Precision precision, int blockSize, int budgetTokens, long budgetBytes, int maxSeqs,
                           int maxModelLen, LongSupplier availableMemory) {
        if (budgetTokens > 0 || budgetBytes > 0) {
            return explicit(cfg, precision, blockSize, budgetTokens, budgetBytes);
        }
        long available = availableMemory.getAsLong();
        long bytes = Math.max(MIN_DEFAULT, Math.min(MAX_DEFAULT, available > 0 ? available / 4 : 1L << 30));
        int useful = (int) Math.min(Integer.MAX_VALUE, ((long) maxSeqs * maxModelLen + blockSize - 1) / blockSize);
        int blocks = Math.min(useful, PagedKvCache.blocksForBudget(cfg, precision, blockSize, bytes));
        return plan(cfg, precision, blockSize, blocks, String.format(Locale.ROOT,
                "a quarter of %s available memory (64 MiB to 8 GiB), at most %d sequences of %d tokens",
                available > 0 ? gib(available) : "unknown", maxSeqs, maxModelLen));
    }

    /** One device of a model split over several: its decoder layers (whose KV it holds) and its memory now. */
    public record DeviceShare(String name, int layers, DeviceMemory memory) {}

    /**
     * The CUDA rule (see the class comment) for a model on one device.
     *
     * @param utilization     fraction of the device's memory that weights, activations and KV may use together, (0, 1]
     * @param memory          the device's free and total memory now, with the weights loaded
     * @param activationBytes what the largest step needs on top of the weights and the cache ({@link #activationBytes})
     * @throws IllegalStateException when not one block fits, or an explicit budget does not fit in the free memory
     */
    public static Plan cuda(ModelConfig cfg, Precision precision, int blockSize, int budgetTokens, long budgetBytes,
                            double utilization, DeviceMemory memory, long activationBytes) {
        return cuda(cfg, precision, blockSize, budgetTokens, budgetBytes, utilization,
                List.of(new DeviceShare("the device", cfg.numLayers(), memory)), activationBytes);
    }

    /**
     * The CUDA rule for a model whose layers are split over several devices: each device holds the K/V of its own
     * layers, so a block costs each device its share, and every device must fit every block. Each device gets the rule
     * of one device with its share (and the whole activation reserve: a stage's hidden states are as large as the
     * model's, and the last one also holds the logits); the cache gets the fewest blocks any device fits.
     */
    public static Plan cuda(ModelConfig cfg, Precision precision, int blockSize, int budgetTokens, long budgetBytes,
                            double utilization, List<DeviceShare> devices, long activationBytes) {
        Plan wanted = budgetTokens > 0 || budgetBytes > 0 ? explicit(cfg, precision, blockSize, budgetTokens, budgetBytes) : null;
        int blocks = Integer.MAX_VALUE;
        List<String> rules = new ArrayList<>();
        for (DeviceShare d : devices) {
            DeviceMemory memory = d.memory();
            long perBlock = PagedKvCache.bytesPerToken(cfg, precision, d.layers()) * blockSize;
            String where = devices.size() == 1 ? "" : d.name() + " (" + d.layers() + " layers): ";
            if (wanted != null) {
                long kvBytes = perBlock * wanted.blocks();
                if (kvBytes + activationBytes > memory.free()) {
                    throw new IllegalStateException(String.format(Locale.ROOT, "KV cache: %sthe configured budget (%s) and a "
                            + "step's activations (%s) do not fit in the %s free of the device's %s; lower "
                            + "qwen.engine.kv-cache-tokens or kv-cache-bytes, or leave both unset to size the cache from "
                            + "qwen.engine.gpu-memory-utilization", where, gib(kvBytes), gib(activationBytes),
                            gib(memory.free()), gib(memory.total())));
                }
                continue;
            }
            long inUse = memory.total() - memory.free();
            long kv = (long) (utilization * memory.total()) - inUse - activationBytes;
            String rule = String.format(Locale.ROOT, "%s%.2f of %s device memory, less %s in use (weights, CUDA context, "
                    + "other processes) and %s for a step's activations", where, utilization, gib(memory.total()), gib(inUse),
                    gib(activationBytes));
            if (kv < perBlock) {
                throw new IllegalStateException("KV cache: no room on the device: " + rule + " leaves " + gib(Math.max(0, kv))
                        + "; raise qwen.engine.gpu-memory-utilization, lower qwen.engine.max-batch-tokens, or load a smaller "
                        + "model or dtype");
            }
            blocks = (int) Math.min(blocks, Math.min(Integer.MAX_VALUE, kv / perBlock));
            rules.add(rule);
        }
        if (wanted != null) {
            return wanted;
        }
        return plan(cfg, precision, blockSize, blocks, devices.size() == 1 ? rules.get(0)
                : "the fewest blocks any device fits: " + String.join("; ", rules));
    }

    /**
     * The transient memory of the largest step, estimated from the shapes: the hidden states, q/k/v and MLP
     * activations of {@code maxBatchTokens} tokens in the compute dtype; float32 logits of {@code maxSeqs} rows and the
     * sampler's work on them (probabilities, sorted values and their int64 indices); and the attention of a
     * {@code maxBatchTokens}-token prefill chunk over {@code maxModelLen} positions (the context's K/V rows gathered in
     * the compute dtype and in float32, float32 scores per head). Decode steps pad every sequence's gathered context
     * to the batch's longest: a batch with one very long sequence can need more than this.
     */
    public static long activationBytes(ModelConfig cfg, Precision precision, int maxBatchTokens, int maxSeqs, int maxModelLen) {
        long t = maxBatchTokens;
        long perToken = 6L * cfg.hiddenSize() + cfg.qSize() + 2L * cfg.kvSize() + cfg.qSize() + 3L * cfg.intermediateSize();
        long hidden = t * perToken * precision.bytes();
        long logits = (long) maxSeqs * cfg.vocabSize() * (4 + 4 + 4 + 8);
        long context = (long) maxModelLen * 2 * cfg.kvSize() * (precision.bytes() + 4);
        long scores = (long) cfg.numHeads() * t * maxModelLen * 4;
        return hidden + logits + context + scores;
    }

    private static Plan explicit(ModelConfig cfg, Precision precision, int blockSize, int budgetTokens, long budgetBytes) {
        if (budgetTokens > 0) {
            return plan(cfg, precision, blockSize, Math.max(1, (budgetTokens + blockSize - 1) / blockSize),
                    "qwen.engine.kv-cache-tokens " + budgetTokens);
        }
        return plan(cfg, precision, blockSize, PagedKvCache.blocksForBudget(cfg, precision, blockSize, budgetBytes),
                "qwen.engine.kv-cache-bytes " + budgetBytes);
    }

    private static Plan plan(ModelConfig cfg, Precision precision, int blockSize, int blocks, String rule) {
        return new Plan(blocks, blockSize, PagedKvCache.bytesPerToken(cfg, precision) * blockSize * blocks, rule);
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
    }

    /** MemAvailable from /proc/meminfo, or -1. */
    public static long availableMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
