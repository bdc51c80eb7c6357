package io.qwenserve.engine.sched;

/**
 * Scheduler, KV-cache and request settings: the one place their defaults live ({@link #defaults()}). The service's
 * {@code qwen.engine.*} keys and {@code qwen.sampling.*} keys carry the same names.
 *
 * @param maxBatch        most sequences in one step
 * @param maxBatchTokens  most tokens in one step: decode tokens first, the rest for prefill chunks; a long prompt is
 *                        prefilled over several steps so running streams wait at most one chunk
 * @param queueSize       bound of the waiting queue; submissions beyond it are rejected (QUEUE_FULL)
 * @param blockSize       tokens per KV block
 * @param kvCacheBytes    KV-cache budget in bytes; 0 with {@code kvCacheTokens} 0 picks a default from free memory
 * @param kvCacheTokens   KV-cache budget in tokens (takes precedence over bytes when > 0)
 * @param maxModelLen     longest sequence (prompt + output); 0 means the model's max positions
 * @param streamBuffer    events buffered per request before chunks are merged for a slow reader
 * @param maxPromptTokens longest prompt accepted; 0 means limited only by the model length and the KV cache
 * @param maxNewTokens    cap on any request's max_tokens
 * @param maxStopStrings  most stop strings per request
 * @param maxStopLength   longest stop string, in characters
 * @param maxStepFailures steps in a row that may fail (each failing only its own sequences) before the engine is
 *                        marked failed
 * @param sampling        defaults for sampling fields a request leaves unset (before the model's own)
 * @param prefixCaching   reuse the K/V of full blocks of a prompt prefix computed before (automatic prefix caching)
 * @param gpuMemoryUtilization on CUDA without a KV budget: the fraction of the device's memory that the weights, a
 *                        step's activations and the KV cache may use together (vLLM's {@code gpu_memory_utilization})
 */
public record EngineConfig(int maxBatch, int maxBatchTokens, int queueSize, int blockSize, long kvCacheBytes,
                           int kvCacheTokens, int maxModelLen, int streamBuffer, int maxPromptTokens, int maxNewTokens,
                           int maxStopStrings, int maxStopLength, int maxStepFailures, SamplingDefaults sampling,
                           boolean prefixCaching, double gpuMemoryUtilization) {

    /**
     * Server-wide defaults for unset request fields; a null here falls back to the model's generation_config.json.
     *
     * @param maxTokens max_tokens of a request that does not say; null takes the model's max_new_tokens
     */
    public record SamplingDefaults(Double temperature, Double topP, Integer topK, Double repetitionPenalty,
                                   Integer maxTokens, Long seed) {
        public static final SamplingDefaults MODEL = new SamplingDefaults(null, null, null, null, null, null);
    }

    public EngineConfig {
        if (maxBatch < 1 || maxBatchTokens < 1 || queueSize < 0 || blockSize < 1 || streamBuffer < 2 || maxPromptTokens < 0
                || maxNewTokens < 1 || maxStopStrings < 0 || maxStopLength < 1 || maxStepFailures < 1 || sampling == null) {
            throw new IllegalArgumentException("invalid engine config " + this);
        }
        if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
            throw new IllegalArgumentException("gpu memory utilization must be in (0, 1], got " + gpuMemoryUtilization);
        }
        if (maxBatchTokens < maxBatch) {
            throw new IllegalArgumentException("max batch tokens (" + maxBatchTokens + ") must be >= max batch (" + maxBatch + ")");
        }
    }

    public static EngineConfig defaults() {
        return new EngineConfig(64, 512, 1024, 16, 0, 0, 0, 64, 0, 4096, 16, 256, 3, SamplingDefaults.MODEL, true, 0.90);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public static Builder builder() {
        return defaults().toBuilder();
    }

    public EngineConfig withKvCacheTokens(int tokens) {
        return toBuilder().kvCacheTokens(tokens).build();
    }

    /** Sets the batch size, raising the token budget to at least one token per sequence. */
    public EngineConfig withMaxBatch(int n) {
        return toBuilder().maxBatch(n).maxBatchTokens(Math.max(maxBatchTokens, n)).build();
    }

    public EngineConfig withMaxBatchTokens(int n) {
        return toBuilder().maxBatchTokens(n).build();
    }

    public EngineConfig withQueueSize(int n) {
        return toBuilder().queueSize(n).build();
    }

    public EngineConfig withBlockSize(int n) {
        return toBuilder().blockSize(n).build();
    }

    public EngineConfig withMaxModelLen(int n) {
        return toBuilder().maxModelLen(n).build();
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private int maxBatch;
        private int maxBatchTokens;
        private int queueSize;
        private int blockSize;
        private long kvCacheBytes;
        private int kvCacheTokens;
        private int maxModelLen;
        private int streamBuffer;
        private int maxPromptTokens;
        private int maxNewTokens;
        private int maxStopStrings;
        private int maxStopLength;
        private int maxStepFailures;
        private SamplingDefaults sampling;
        private boolean prefixCaching;
        private double gpuMemoryUtilization;

        private Builder(EngineConfig c) {
            maxBatch = c.maxBatch;
            maxBatchTokens = c.maxBatchTokens;
            queueSize = c.queueSize;
            blockSize = c.blockSize;
            kvCacheBytes = c.kvCacheBytes;
            kvCacheTokens = c.kvCacheTokens;
            maxModelLen = c.maxModelLen;
            streamBuffer = c.streamBuffer;
            maxPromptTokens = c.maxPromptTokens;
            maxNewTokens = c.maxNewTokens;
            maxStopStrings = c.maxStopStrings;
            maxStopLength = c.maxStopLength;
            maxStepFailures = c.maxStepFailures;
            sampling = c.sampling;
            prefixCaching = c.prefixCaching;
            gpuMemoryUtilization = c.gpuMemoryUtilization;
        }

        public Builder maxBatch(int v) { maxBatch = v; return this; }
        public Builder maxBatchTokens(int v) { maxBatchTokens = v; return this; }
        public Builder queueSize(int v) { queueSize = v; return this; }
        public Builder blockSize(int v) { blockSize = v; return this; }
        public Builder kvCacheBytes(long v) { kvCacheBytes = v; return this; }
        public Builder kvCacheTokens(int v) { kvCacheTokens = v; return this; }
        public Builder maxModelLen(int v) { maxModelLen = v; return this; }
        public Builder streamBuffer(int v) { streamBuffer = v; return this; }
        public Builder maxPromptTokens(int v) { maxPromptTokens = v; return this; }
        public Builder maxNewTokens(int v) { maxNewTokens = v; return this; }
        public Builder maxStopStrings(int v) { maxStopStrings = v; return this; }
        public Builder maxStopLength(int v) { maxStopLength = v; return this; }
        public Builder maxStepFailures(int v) { maxStepFailures = v; return this; }
        public Builder sampling(SamplingDefaults v) { sampling = v; return this; }
        public Builder prefixCaching(boolean v) { prefixCaching = v; return this; }
        public Builder gpuMemoryUtilization(double v) { gpuMemoryUtilization = v; return this; }

        public EngineConfig build() {
            return new EngineConfig(maxBatch, maxBatchTokens, queueSize, blockSize, kvCacheBytes, kvCacheTokens, maxModelLen,
                    streamBuffer, maxPromptTokens, maxNewTokens, maxStopStrings, maxStopLength, maxStepFailures, sampling,
                    prefixCaching, gpuMemoryUtilization);
        }
    }
}
