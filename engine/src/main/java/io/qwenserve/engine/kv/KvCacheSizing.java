package io.qwenserve.engine.kv;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * How many KV blocks an engine gets: a budget in tokens, else in bytes, else a default of a quarter of the memory
 * available now (at most 8 GiB, at least 64 MiB), never more than {@code maxSeqs} full-length sequences can use. The
 * memory reading is injected so the rule is testable.
 */
public final class KvCacheSizing {
    static final long MIN_DEFAULT = 64L << 20;
    static final long MAX_DEFAULT = 8L << 30;

    private KvCacheSizing() {}

    /**
     * @param budgetTokens    KV budget in tokens, or 0
     * @param budgetBytes     KV budget in bytes, or 0
     * @param maxSeqs         most sequences in a step
     * @param maxModelLen     longest sequence
     * @param availableMemory bytes of memory available now, or -1 when unknown
     */
    public static int blocks(ModelConfig cfg, Precision precision, int blockSize, int budgetTokens, long budgetBytes, int maxSeqs,
                             int maxModelLen, LongSupplier availableMemory) {
        if (budgetTokens > 0) {
            return Math.max(1, (budgetTokens + blockSize - 1) / blockSize);
        }
        if (budgetBytes > 0) {
            return PagedKvCache.blocksForBudget(cfg, precision, blockSize, budgetBytes);
        }
        long available = availableMemory.getAsLong();
        long bytes = Math.max(MIN_DEFAULT, Math.min(MAX_DEFAULT, available > 0 ? available / 4 : 1L << 30));
        int useful = (int) Math.min(Integer.MAX_VALUE, ((long) maxSeqs * maxModelLen + blockSize - 1) / blockSize);
        return Math.min(useful, PagedKvCache.blocksForBudget(cfg, precision, blockSize, bytes));
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
