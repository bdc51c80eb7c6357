package io.qwenserve.engine.model;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.sample.SampleResult;
import io.qwenserve.engine.sample.Sampler;
import io.qwenserve.engine.sample.SamplingParams;
import io.qwenserve.engine.sample.SequenceSampler;
import io.qwenserve.engine.text.IncrementalDetokenizer;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;

/**
 * Generates for one sequence at a time: prefill the prompt, then decode token by token through the KV cache. This is
 * the seed's {@code model.generate} in Java, and the reference the batching scheduler is tested against.
 */
public final class Generator implements AutoCloseable {
    private final QwenModel model;
    private final QwenTokenizer tokenizer;
    private final PagedKvCache cache;
    private final int[] blockTable;
    private final int maxContext;
    private final Sampler sampler;

    /** Receives each generated token with the text it made safe to show (often empty). */
    @FunctionalInterface
    public interface Listener {
        void onToken(int token, String text);
    }

    /**
     * What one generation produced.
     *
     * @param prefillNanos time from start to the first sampled token
     * @param decodeNanos  time of the decode steps after it
     */
    public record Result(int[] tokens, String text, FinishReason finishReason, int promptTokens, long prefillNanos,
                         long decodeNanos) {}

    public Generator(QwenModel model, QwenTokenizer tokenizer, int maxContext) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxContext = maxContext;
        int blockSize = 16;
        this.cache = new PagedKvCache(model.config(), (maxContext + blockSize - 1) / blockSize, blockSize, model.precision(), model.device());
        this.blockTable = new int[cache.numBlocks()];
        for (int i = 0; i < blockTable.length; i++) {
            blockTable[i] = i; // one sequence owns the whole cache, in order
        }
        this.sampler = new Sampler(Math.min(tokenizer.vocabSize(), model.config().vocabSize()));
    }

    public Result generate(int[] prompt, SamplingParams params, Set<Integer> stopIds, Listener listener) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (prompt.length >= maxContext) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of " + maxContext);
        }
        SequenceSampler seq = new SequenceSampler(params, prompt);
        IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer::tokenBytes, tokenizer::isSpecial, params.stop());
        double alpha = model.rope().ntkAlpha(prompt.length);
        List<Integer> out = new ArrayList<>();
        int[] step = prompt;
        int context = 0;
        FinishReason reason = FinishReason.LENGTH;
        long start = System.nanoTime();
        long firstToken = 0;
        while (true) {
            context += step.length;
            ForwardBatch batch = new ForwardBatch(step, List.of(new ForwardBatch.Slice(step.length, context, blockTable, alpha, ForwardBatch.Logits.LAST)));
            SampleResult r;
            try (Tensor logits = model.forward(batch, cache)) {
                r = sampler.sample(logits, List.of(seq))[0];
            }
            int token = r.token();
            if (firstToken == 0) {
                firstToken = System.nanoTime();
            }
            if (stopIds.contains(token) || params.stopIds().contains(token)) {
                reason = FinishReason.STOP;
                break;
            }
            out.add(token);
            seq.accept(token);
            String text = detok.push(token);
            listener.onToken(token, text);
            if (detok.stopHit() != null) {
                reason = FinishReason.STOP_STRING;
                break;
            }
            if (out.size() >= params.maxTokens() || context + 1 >= maxContext) {
                break;
            }
            step = new int[] {token};
        }
        long end = System.nanoTime();
        String tail = detok.finish();
        if (!tail.isEmpty()) {
            listener.onToken(-1, tail);
        }
        return new Result(out.stream().mapToInt(Integer::intValue).toArray(), detok.text(), reason, prompt.length, firstToken - start,
                end - firstToken);
    }

    /** Logits of the prompt: [positions][vocab] for every position, or just the last one. */
    public float[][] logits(int[] prompt, boolean allPositions) {
        if (prompt.length == 0 || prompt.length > maxContext) {
            throw new IllegalArgumentException("prompt length " + prompt.length + " outside 1.." + maxContext);
        }
        ForwardBatch batch = new ForwardBatch(prompt, List.of(new ForwardBatch.Slice(prompt.length, prompt.length, blockTable,
                model.rope().ntkAlpha(prompt.length), allPositions ? ForwardBatch.Logits.ALL : ForwardBatch.Logits.LAST)));
        try (Tensor logits = model.forward(batch, cache)) {
            float[] flat = Torch.toFloats(logits);
            int v = (int) logits.size(1);
            float[][] rows = new float[flat.length / v][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
            }
            return rows;
        }
    }

    @Override
    public void close() {
        cache.close();
    }
}
