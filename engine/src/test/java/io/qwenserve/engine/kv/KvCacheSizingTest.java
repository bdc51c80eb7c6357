package io.qwenserve.engine.kv;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.kv.KvCacheSizing.DeviceMemory;
import io.qwenserve.engine.kv.KvCacheSizing.DeviceShare;
import io.qwenserve.engine.kv.KvCacheSizing.Plan;
import io.qwenserve.engine.model.Precision;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The KV cache sizing rules with injected memory readings: the CUDA rule (gpu-memory-utilization) on the shapes of
 * Qwen-7B-Chat and an 80 GB GPU, the same model split over two 24 GiB GPUs, and the CPU rule.
 */
class KvCacheSizingTest {
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;
    /** Qwen-7B(-Chat): 32 layers, 32 heads of 128, MLP 11008, vocabulary 151936, 8192 positions. */
    static final ModelConfig QWEN_7B = new ModelConfig(Architecture.QWEN, 4096, 32, 32, 32, 128, 11008, 151936, 1e-6, 10000,
            128, 8192, 8192, true, true, false, true, false, List.of(), "bfloat16");
    /** An H100 80GB as cudaMemGetInfo reports it (81,559 MiB). */
    static final long H100_TOTAL = 81559 * MIB;
    /** bf16 weights of Qwen-7B (7.72e9 parameters) and about 500 MiB of CUDA context. */
    static final long WEIGHTS_AND_CONTEXT = 15_442_000_000L + 500 * MIB;
    static final int BLOCK = 16;

    static long activations() {
        return KvCacheSizing.activationBytes(QWEN_7B, Precision.BF16, 512, 64, 8192);
    }

    static Plan cuda(double utilization, long free, long total) {
        return KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 0, 0, utilization, new DeviceMemory(free, total), activations());
    }

    @Test
    void qwen7bOnAn80GbGpuHoldsAbout110kTokens() {
        Plan p = cuda(0.90, H100_TOTAL - WEIGHTS_AND_CONTEXT, H100_TOTAL);
        System.out.printf("Qwen-7B bf16, injected 80 GB readings: %d tokens (%s)%n", p.tokens(), p.rule());
        assertEquals(512 * 1024, PagedKvCache.bytesPerToken(QWEN_7B, Precision.BF16), "half a MiB of K and V per token");
        assertTrue(p.tokens() > 100_000 && p.tokens() < 120_000, p + ": " + p.tokens() + " tokens");
        // weights + activations + KV stay within the fraction, and less than one block of it is left unused
        long limit = (long) (0.90 * H100_TOTAL);
        long used = WEIGHTS_AND_CONTEXT + activations() + p.bytes();
        long perBlock = PagedKvCache.bytesPerToken(QWEN_7B, Precision.BF16) * BLOCK;
        assertTrue(used <= limit && limit - used < perBlock, "used " + used + " of " + limit);
        assertTrue(p.rule().contains("0.90 of 79.65 GiB"), p.rule());
    }

    @Test
    void theActivationReserveOfA7bStepIsAboutAGib() {
        long a = activations();
        assertTrue(a > 512 * MIB && a < 2 * GIB, a + " bytes");
        assertTrue(KvCacheSizing.activationBytes(QWEN_7B, Precision.BF16, 1024, 64, 8192) > a, "grows with the step's tokens");
        assertTrue(KvCacheSizing.activationBytes(QWEN_7B, Precision.BF16, 512, 128, 8192) > a, "grows with the batch's rows");
        assertTrue(KvCacheSizing.activationBytes(QWEN_7B, Precision.BF16, 512, 64, 32768) > a, "grows with the context");
    }

    @Test
    void whatElseIsOnTheDeviceCountsAgainstTheFraction() {
        Plan alone = cuda(0.90, H100_TOTAL - WEIGHTS_AND_CONTEXT, H100_TOTAL);
        Plan shared = cuda(0.90, H100_TOTAL - WEIGHTS_AND_CONTEXT - 10 * GIB, H100_TOTAL);
        assertEquals(10 * GIB / (PagedKvCache.bytesPerToken(QWEN_7B, Precision.BF16) * BLOCK), alone.blocks() - shared.blocks(), 1);
    }

    @Test
    void aLargerFractionGivesMoreBlocks() {
        long free = H100_TOTAL - WEIGHTS_AND_CONTEXT;
        int previous = 0;
        for (double u : new double[] {0.3, 0.5, 0.9, 0.95, 1.0}) {
            int blocks = cuda(u, free, H100_TOTAL).blocks();
            assertTrue(blocks > previous, u + ": " + blocks);
            previous = blocks;
        }
    }

    @Test
    void noRoomLeftIsAClearError() {
        // a 24 GiB card: 0.9 of it (21.6 GiB) holds 14.9 GiB of weights and context, 1.1 GiB of activations and a KV cache;
        // 0.6 of it (14.4 GiB) does not even hold the weights
        long total = 24 * GIB;
        assertTrue(cuda(0.90, total - WEIGHTS_AND_CONTEXT, total).tokens() > 0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> cuda(0.60, total - WEIGHTS_AND_CONTEXT, total));
        assertTrue(e.getMessage().contains("no room") && e.getMessage().contains("qwen.engine.gpu-memory-utilization"), e.getMessage());
    }

    @Test
    void aBudgetWinsButMustFitTheFreeMemory() {
        DeviceMemory m = new DeviceMemory(H100_TOTAL - WEIGHTS_AND_CONTEXT, H100_TOTAL);
        Plan tokens = KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 4000, 0, 0.9, m, activations());
        assertEquals(250, tokens.blocks());
        Plan bytes = KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 0, 1 * GIB, 0.9, m, activations());
        assertEquals(128, bytes.blocks());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 0, 70 * GIB, 0.9, m, activations()));
        assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
    }

    @Test
    void overTwoDevicesEachHoldsItsLayersAndTheFullerOneSetsTheBlocks() {
        // Qwen-7B over two 16 GiB cards, 16 layers each: the first also holds the embedding, the second the head
        long total = 16 * GIB;
        long half = (WEIGHTS_AND_CONTEXT - 500 * MIB) / 2;
        DeviceShare first = new DeviceShare("cuda:0", 16, new DeviceMemory(total - half - 500 * MIB, total));
        DeviceShare second = new DeviceShare("cuda:1", 16, new DeviceMemory(total - half - 500 * MIB - GIB, total)); // 1 GiB more in use
        Plan p = KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 0, 0, 0.90, List.of(first, second), activations());
        long perBlockEach = PagedKvCache.bytesPerToken(QWEN_7B, Precision.BF16, 16) * BLOCK;
        long secondKv = (long) (0.90 * total) - (total - second.memory().free()) - activations();
        assertEquals(secondKv / perBlockEach, p.blocks(), "the fuller device's room, at half a block's bytes per block");
        assertTrue(p.rule().contains("cuda:0 (16 layers)") && p.rule().contains("cuda:1 (16 layers)"), p.rule());
        // one 16 GiB card cannot hold the bf16 weights and a cache within 0.90 of it; two hold about 19k tokens
        assertThrows(IllegalStateException.class, () -> cuda(0.90, total - WEIGHTS_AND_CONTEXT, total));
        System.out.printf("Qwen-7B bf16 over two injected 16 GiB cards: %d tokens (%s)%n", p.tokens(), p.rule());
        assertTrue(p.tokens() > 15_000 && p.tokens() < 25_000, p.tokens() + " tokens");
        // one device in the list: the single-device rule
        Plan alone = KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 0, 0, 0.90,
                List.of(new DeviceShare("cuda:0", 32, new DeviceMemory(H100_TOTAL - WEIGHTS_AND_CONTEXT, H100_TOTAL))), activations());
        assertEquals(cuda(0.90, H100_TOTAL - WEIGHTS_AND_CONTEXT, H100_TOTAL), alone);
    }

    @Test
    void aBudgetOverTwoDevicesMustFitEach() {
        long total = 24 * GIB;
        DeviceShare roomy = new DeviceShare("cuda:0", 16, new DeviceMemory(16 * GIB, total));
        DeviceShare full = new DeviceShare("cuda:1", 16, new DeviceMemory(5 * GIB, total));
        // 16,000 tokens: 3.9 GiB of K/V on each device, plus 1.1 GiB of activations, fits 16 GiB free but not 5 GiB
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KvCacheSizing.cuda(QWEN_7B, Precision.BF16,
                BLOCK, 16_000, 0, 0.9, List.of(roomy, full), activations()));
        assertTrue(e.getMessage().contains("cuda:1 (16 layers)") && e.getMessage().contains("do not fit"), e.getMessage());
        assertEquals(1000, KvCacheSizing.cuda(QWEN_7B, Precision.BF16, BLOCK, 16_000, 0, 0.9, List.of(roomy, roomy),
                activations()).blocks());
    }

    @Test
    void theCpuRuleTakesAQuarterOfTheAvailableMemoryWithinItsBounds() {
        long perBlock = PagedKvCache.bytesPerToken(QWEN_7B, Precision.BF16) * BLOCK;
        assertEquals(4 * GIB / perBlock, KvCacheSizing.blocks(QWEN_7B, Precision.BF16, BLOCK, 0, 0, 64, 8192, () -> 16 * GIB));
        assertEquals(8 * GIB / perBlock, KvCacheSizing.blocks(QWEN_7B, Precision.BF16, BLOCK, 0, 0, 64, 8192, () -> 100 * GIB), "at most 8 GiB");
        assertEquals(64 * MIB / perBlock, KvCacheSizing.blocks(QWEN_7B, Precision.BF16, BLOCK, 0, 0, 64, 8192, () -> 100 * MIB), "at least 64 MiB");
        assertEquals(2 * 100 / BLOCK + 1, KvCacheSizing.blocks(QWEN_7B, Precision.BF16, BLOCK, 0, 0, 2, 100, () -> 16 * GIB),
                "no more than max-batch full-length sequences use");
        assertEquals(7, KvCacheSizing.blocks(QWEN_7B, Precision.BF16, BLOCK, 100, 0, 64, 8192, () -> 16 * GIB), "a budget in tokens wins");
    }
}
