package io.qwenserve.engine.train;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One micro-batch's forward and backward pass with the activations of one decoder layer alive at a time (gradient
 * checkpointing per layer, which the finetune scripts turn on too):
 * <pre>
 *   forward, no graph:   x0 = embed(ids); x[i+1] = layer_i(x[i]), keeping only each layer's input x[i]
 *   head:                loss = CE(lm_head(norm(x[L])), targets), in chunks of rows; backward -> dL/dx[L]
 *   layers L-1 .. 0:     recompute layer_i(x[i]) with a graph; backward with dL/dx[i+1] -> dL/dx[i]
 *   embedding (full):    embed(ids) with a graph; backward with dL/dx[0]
 * </pre>
 * Gradients of the trained tensors accumulate in their {@code .grad()} across micro-batches. LoRA dropout draws from
 * libtorch's generator seeded per (micro-batch, layer) before both the forward and the recompute, so the recompute
 * sees the same masks. A layer's transient weights (a GPTQ layer's dequantized linears) live only while that layer
 * runs. Every tensor made here is released before {@link #run} returns.
 */
public final class LayerwiseBackprop {
    /**
     * Largest float32 logits block the head makes at once. The logits of a batch are [targets, vocabulary] (152k
     * columns for Qwen): one block for a whole batch is tens to hundreds of MiB, which the C allocator maps fresh (and
     * the kernel zero-fills page by page) on every step. Measured on 2 cores: 120-160 ms per elementwise op on 60 rows
     * in one block, under 3 ms in a 16-row block. Chunks also bound the head's memory.
     */
    static final long HEAD_CHUNK_BYTES = 8L << 20;

    private final TrainModel model;

    public LayerwiseBackprop(TrainModel model) {
        this.model = model;
    }

    /**
     * Runs one micro-batch and accumulates gradients of {@code lossScale * sum(CE) / divisor}.
     *
     * @param ids         int64 [B, T], right-padded
     * @param rows        int64 [R]: flattened positions whose next token is a target
     * @param targets     int64 [R]: those next tokens
     * @param divisor     the number of target tokens of the whole optimizer step (so the step's loss is a token mean)
     * @param lossScale   1, or the fp16 loss scale
     * @param dropoutSeed seed of this micro-batch's dropout masks
     * @return the summed cross-entropy of the micro-batch (unscaled)
     */
    public double run(Tensor ids, Tensor rows, Tensor targets, double divisor, double lossScale, long dropoutSeed) {
        int layers = model.numLayers();
        List<Tensor> inputs = new ArrayList<>(layers + 1);
        Tensor[] rope = model.ropeTables((int) ids.size(1));
        try {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                Tensor x;
                try (PointerScope scope = new PointerScope()) {
                    x = model.embed(ids);
                    x.retainReference();
                }
                for (int i = 0; i < layers; i++) {
                    inputs.add(x);
                    try (PointerScope scope = new PointerScope()) {
                        seed(dropoutSeed, i);
                        x = model.layer(i, x, rope, true);
                        x.retainReference();
                    }
                }
                inputs.add(x);
            }
            double lossSum = 0;
            Tensor grad;
            try (PointerScope scope = new PointerScope()) {
                Tensor last = inputs.get(layers).requires_grad_(true);
                long n = rows.numel();
                long chunk = Math.max(1, HEAD_CHUNK_BYTES / (4L * model.config().vocabSize()));
                Tensor w = model.headWeight();
                for (long from = 0; from < n; from += chunk) { // the head in chunks of rows: see HEAD_CHUNK_BYTES
                    try (PointerScope c = new PointerScope()) {
                        long len = Math.min(chunk, n - from);
                        lossSum += head(last, w, rows.narrow(0, from, len), targets.narrow(0, from, len), lossScale / divisor);
                    }
                }
                grad = n > 0 ? last.grad().detach() : torch.zeros_like(last);
                grad.retainReference();
            }
            for (int i = layers - 1; i >= 0; i--) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor in = inputs.get(i).requires_grad_(true);
                    seed(dropoutSeed, i);
                    Tensor out = model.layer(i, in, rope, true);
                    backward(out, grad);
                    grad.close();
                    grad = in.grad().detach();
                    grad.retainReference();
                }
                inputs.get(i + 1).close();
            }
            if (model.embedding().requires_grad()) {
                accumulateEmbeddingGrad(ids, grad);
            }
            grad.close();
            return lossSum;
        } finally {
            inputs.forEach(t -> {
                if (!t.isNull()) {
                    t.close();
                }
            });
            rope[0].close();
            rope[1].close();
        }
    }

    /**
     * One chunk of the head, its backward pass written out so that a trained head's weight gradient accumulates in place
     * ({@code dW += dlogits^T h}; autograd would make a [vocabulary, hidden] temporary per chunk):
     * <pre>
     *   h = norm(x[rows]); logits = h W^T (no graph); loss = CE(logits) -> dlogits
     *   dW += dlogits^T h;  dh = dlogits W;  backward through norm and row selection with dh
     * </pre>
     * Returns the chunk's summed cross-entropy.
     */
    private double head(Tensor last, Tensor w, Tensor rows, Tensor targets, double factor) {
        Tensor h = model.headInput(last, rows);
        Tensor logits;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            logits = torch.linear(h, w).to(ScalarType.Float);
        }
        logits.requires_grad_(true);
        Tensor sum = torch.cross_entropy_loss(logits, targets, new TensorOptional(), 2, -100, 0.0);
        double loss = sum.item_double();
        sum.mul(new Scalar(factor)).backward();
        Tensor dLogits = logits.grad();
        Tensor head = model.lmHead();
        if (head.requires_grad()) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                if (!head.grad().defined()) {
                    head.mutable_grad().put(torch.zeros_like(head));
                }
                head.grad().addmm_(dLogits.t(), h.detach().to(head.scalar_type()));
            }
        }
        Tensor dh;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            dh = torch.matmul(dLogits.to(w.scalar_type()), w);
        }
        backward(h, dh);
        return loss;
    }

    /**
     * The embedding's gradient: the rows of dL/dx[0] added at the ids' rows, straight into {@code .grad()} (autograd's
     * index_select backward would first build a dense [vocabulary, hidden] temporary and then add it).
     */
    private void accumulateEmbeddingGrad(Tensor ids, Tensor grad) {
        Tensor emb = model.embedding();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            if (!emb.grad().defined()) {
                emb.mutable_grad().put(torch.zeros_like(emb));
            }
            Tensor rows = grad.reshape(-1, grad.size(-1)).to(emb.scalar_type());
            emb.grad().index_add_(0, ids.reshape(-1), rows);
        }
    }

    private static void backward(Tensor out, Tensor grad) {
        out.backward(grad, new BoolOptional(), false, new TensorArrayRefOptional());
    }

    private static void seed(long dropoutSeed, int layer) {
        torch.manual_seed(dropoutSeed * 1_000_003L + layer);
    }
}
