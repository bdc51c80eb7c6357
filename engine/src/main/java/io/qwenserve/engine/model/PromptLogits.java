package io.qwenserve.engine.model;

import io.qwenserve.engine.kv.PagedKvCache;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * The logits of one prompt in one prefill, on a private KV cache: what {@code bin/qwen logits}, the accuracy command
 * and the reference tests compare. Generation itself always runs through the engine
 * ({@link io.qwenserve.engine.sched.Engine}).
 */
public final class PromptLogits implements AutoCloseable {
    private static final int BLOCK = 16;

    private final QwenModel model;
    private final PagedKvCache cache;
    private final int[] blockTable;
    private final int maxContext;

    public PromptLogits(QwenModel model, int maxContext) {
        this.model = model;
        this.maxContext = maxContext;
        this.cache = new PagedKvCache(model.config(), (maxContext + BLOCK - 1) / BLOCK, BLOCK, model.precision(), model.devices());
        this.blockTable = new int[cache.numBlocks()];
        for (int i = 0; i < blockTable.length; i++) {
            blockTable[i] = i; // one sequence owns the whole cache, in order
        }
    }

    /** Logits of the prompt: [positions][vocab] for every position, or just the last one. */
    public float[][] logits(int[] prompt, boolean allPositions) {
        return logits(prompt, allPositions, null);
    }

    /** The same with a LoRA adapter applied ({@code null}: the base model). */
    public float[][] logits(int[] prompt, boolean allPositions, io.qwenserve.engine.lora.LoraWeights lora) {
        if (prompt.length == 0 || prompt.length > maxContext) {
            throw new IllegalArgumentException("prompt length " + prompt.length + " outside 1.." + maxContext);
        }
        List<ForwardBatch.Slice> slice = List.of(new ForwardBatch.Slice(prompt.length, prompt.length, blockTable,
                model.rope().ntkAlpha(prompt.length), allPositions ? ForwardBatch.Logits.ALL : ForwardBatch.Logits.LAST));
        ForwardBatch batch = new ForwardBatch(prompt, slice, lora == null ? List.of() : java.util.Collections.singletonList(lora));
        try (Tensor logits = model.forward(batch, cache)) {
            return Torch.rows(logits);
        }
    }

    @Override
    public void close() {
        cache.close();
    }
}
