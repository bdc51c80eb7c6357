package io.qwenserve.engine.sched;

/**
 * Scheduler and KV-cache settings.
 *
 * @param maxNumSeqs     most sequences in one step (the batch size)
 * @param maxBatchTokens most tokens in one step: decode tokens first, the rest for prefill chunks; a long prompt is
 *                       prefilled over several steps so running streams wait at most one chunk
 * @param maxWaiting     bound of the waiting queue; submissions beyond it are rejected (QUEUE_FULL)
 * @param blockSize      tokens per KV block
 * @param kvCacheBytes   KV-cache budget in bytes; 0 with {@code kvCacheTokens} 0 picks a default from free memory
 * @param kvCacheTokens  KV-cache budget in tokens (takes precedence over bytes when > 0)
 * @param maxModelLen    longest sequence (prompt + output); 0 means the model's max positions
 * @param streamBuffer   events buffered per request before chunks are merged for a slow reader
 */
public record EngineConfig(int maxNumSeqs, int maxBatchTokens, int maxWaiting, int blockSize, long kvCacheBytes,
                           int kvCacheTokens, int maxModelLen, int streamBuffer) {

    public EngineConfig {
        if (maxNumSeqs < 1 || maxBatchTokens < 1 || maxWaiting < 0 || blockSize < 1 || streamBuffer < 2) {
            throw new IllegalArgumentException("invalid engine config " + this);
        }
        if (maxBatchTokens < maxNumSeqs) {
            throw new IllegalArgumentException("max batch tokens (" + maxBatchTokens + ") must be >= max num seqs (" + maxNumSeqs + ")");
        }
    }

    public static EngineConfig defaults() {
        return new EngineConfig(64, 512, 1024, 16, 0, 0, 0, 64);
    }

    public EngineConfig withKvCacheTokens(int tokens) {
        return new EngineConfig(maxNumSeqs, maxBatchTokens, maxWaiting, blockSize, kvCacheBytes, tokens, maxModelLen, streamBuffer);
    }

    public EngineConfig withMaxNumSeqs(int n) {
        return new EngineConfig(n, Math.max(maxBatchTokens, n), maxWaiting, blockSize, kvCacheBytes, kvCacheTokens, maxModelLen, streamBuffer);
    }

    public EngineConfig withMaxBatchTokens(int n) {
        return new EngineConfig(maxNumSeqs, n, maxWaiting, blockSize, kvCacheBytes, kvCacheTokens, maxModelLen, streamBuffer);
    }

    public EngineConfig withMaxWaiting(int n) {
        return new EngineConfig(maxNumSeqs, maxBatchTokens, n, blockSize, kvCacheBytes, kvCacheTokens, maxModelLen, streamBuffer);
    }

    public EngineConfig withBlockSize(int n) {
        return new EngineConfig(maxNumSeqs, maxBatchTokens, maxWaiting, n, kvCacheBytes, kvCacheTokens, maxModelLen, streamBuffer);
    }

    public EngineConfig withMaxModelLen(int n) {
        return new EngineConfig(maxNumSeqs, maxBatchTokens, maxWaiting, blockSize, kvCacheBytes, kvCacheTokens, n, streamBuffer);
    }
}
