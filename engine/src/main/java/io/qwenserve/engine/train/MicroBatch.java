package io.qwenserve.engine.train;

import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;

/**
 * A micro-batch as tensors: ids right-padded with {@code <|endoftext|>} to the longest example (finetune.py pads with
 * the same id; causal attention keeps padding out of every real position), and the flattened positions whose next
 * token is a target, with those targets (the labels shifted by one, as a causal LM's loss is).
 *
 * @param ids     int64 [B, T]
 * @param rows    int64 [R]
 * @param targets int64 [R]
 * @param tokens  real (unpadded) tokens in the batch
 */
public record MicroBatch(Tensor ids, Tensor rows, Tensor targets, int tokens) implements AutoCloseable {

    public static MicroBatch of(List<ChatLayout.Example> examples, Device device) {
        int t = examples.stream().mapToInt(e -> e.ids().length).max().orElseThrow();
        int b = examples.size();
        long[] ids = new long[b * t];
        java.util.Arrays.fill(ids, QwenTokenizer.ENDOFTEXT);
        int targets = examples.stream().mapToInt(ChatLayout.Example::targets).sum();
        long[] rows = new long[targets];
        long[] next = new long[targets];
        int r = 0;
        int tokens = 0;
        for (int i = 0; i < b; i++) {
            ChatLayout.Example e = examples.get(i);
            tokens += e.ids().length;
            for (int p = 0; p < e.ids().length; p++) {
                ids[i * t + p] = e.ids()[p];
                if (p + 1 < e.labels().length && e.labels()[p + 1] != ChatLayout.IGNORE) {
                    rows[r] = (long) i * t + p;
                    next[r] = e.labels()[p + 1];
                    r++;
                }
            }
        }
        Tensor flat = Torch.longs(ids, device);
        Tensor idsT = flat.view(b, t);
        flat.close();
        return new MicroBatch(idsT, Torch.longs(rows, device), Torch.longs(next, device), tokens);
    }

    /** Target tokens of the batch. */
    public long numTargets() {
        return rows.numel();
    }

    @Override
    public void close() {
        ids.close();
        rows.close();
        targets.close();
    }
}
