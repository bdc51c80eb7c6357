package io.qwenserve.engine.train;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.RotaryEmbedding;
import io.qwenserve.engine.model.Torch;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRef;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Qwen v1, Qwen2 and Qwen3 as a trainable model on libtorch autograd: the same architecture as the serving model, run
 * over a right-padded batch with full causal attention (no KV cache), one decoder layer at a time so that
 * {@link LayerwiseBackprop} can recompute each layer in the backward pass.
 * <pre>
 *   embed -> N x (RMSNorm, attention, residual, RMSNorm, SwiGLU MLP, residual) -> RMSNorm -> logits
 * </pre>
 * Linears are kept as the checkpoint names them (Qwen v1's fused {@code c_attn}; Qwen2/3's separate q/k/v and
 * gate/up), which is what LoRA targets and what a full finetune writes back. Training runs as the reference training
 * code does: Qwen v1 without dynamic NTK and logN scaling (both apply only past {@code seq_length} at inference).
 * RoPE is computed in float32 and attention runs in float32 on the CPU, as in the serving model.
 */
public final class TrainModel implements AutoCloseable {

    /** One decoder layer. {@code qkv} holds c_attn (Qwen v1) or q_proj, k_proj, v_proj. */
    public record Layer(Tensor inputNorm, List<TrainLinear> qkv, Tensor qNorm, Tensor kNorm, TrainLinear out,
                        Tensor postNorm, TrainLinear gate, TrainLinear up, TrainLinear down) {
        public List<TrainLinear> linears() {
            List<TrainLinear> all = new ArrayList<>(qkv);
            all.add(out);
            all.add(gate);
            all.add(up);
            all.add(down);
            return all;
        }
    }

    private final ModelConfig cfg;
    private final ScalarType dtype;
    private final Device device;
    private final Tensor embedding; // [V, d]
    private final Layer[] layers;
    private final Tensor finalNorm; // [d]
    private final Tensor lmHead;    // [V, d]; the embedding itself when tied
    private final RotaryEmbedding rope;
    private final ScalarType attentionType;

    TrainModel(ModelConfig cfg, ScalarType dtype, Device device, Tensor embedding, Layer[] layers, Tensor finalNorm,
               Tensor lmHead) {
        this.cfg = cfg;
        this.dtype = dtype;
        this.device = device;
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.rope = new RotaryEmbedding(cfg, device); // its host-side tables only (fill)
        this.attentionType = device.is_cpu() ? ScalarType.Float : dtype;
    }

    public ModelConfig config() {
        return cfg;
    }

    /** Compute dtype of activations. */
    public ScalarType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    public int numLayers() {
        return layers.length;
    }

    public Layer layer(int i) {
        return layers[i];
    }

    public Tensor embedding() {
        return embedding;
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    /** The output head, the same tensor as {@link #embedding()} when the embeddings are tied. */
    public Tensor lmHead() {
        return lmHead;
    }

    /** Every linear layer, in layer order. */
    public List<TrainLinear> linears() {
        List<TrainLinear> all = new ArrayList<>();
        for (Layer l : layers) {
            all.addAll(l.linears());
        }
        return all;
    }

    /** RoPE tables for positions 0..T-1: cos and sin, float32 [1, T, 1, rotaryDim/2] each. */
    public Tensor[] ropeTables(int length) {
        int half = rope.rotaryDim() / 2;
        float[] cos = new float[length * half];
        float[] sin = new float[length * half];
        for (int p = 0; p < length; p++) {
            rope.fill(p, 1.0, cos, sin, p * half);
        }
        return new Tensor[] {Torch.floats(cos, device, 1, length, 1, half), Torch.floats(sin, device, 1, length, 1, half)};
    }

    /** Token embeddings [B, T, d] in the compute dtype. {@code ids} is int64 [B, T]. */
    public Tensor embed(Tensor ids) {
        long b = ids.size(0);
        long t = ids.size(1);
        return cast(torch.index_select(embedding, 0, ids.view(-1)), dtype).view(b, t, cfg.hiddenSize());
    }

    /** One decoder layer over [B, T, d]; {@code rope} from {@link #ropeTables}. */
    public Tensor layer(int i, Tensor x, Tensor[] rope, boolean training) {
        Layer l = layers[i];
        Tensor h = x.add(attention(l, rmsNorm(x, l.inputNorm()), rope, training)); // residual
        Tensor m = rmsNorm(h, l.postNorm());
        Tensor act = torch.silu(l.gate().apply(m, training)).mul(l.up().apply(m, training));
        return h.add(l.down().apply(act, training));                               // residual
    }

    private Tensor attention(Layer l, Tensor h, Tensor[] rope, boolean training) {
        long b = h.size(0);
        long t = h.size(1);
        int hd = cfg.headDim();
        int heads = cfg.numHeads();
        int kvHeads = cfg.numKvHeads();
        Tensor q;
        Tensor k;
        Tensor v;
        if (l.qkv().size() == 1) { // Qwen v1: fused c_attn
            Tensor qkv = l.qkv().get(0).apply(h, training);
            q = qkv.narrow(2, 0, cfg.qSize());
            k = qkv.narrow(2, cfg.qSize(), cfg.kvSize());
            v = qkv.narrow(2, cfg.qSize() + cfg.kvSize(), cfg.kvSize());
        } else {
            q = l.qkv().get(0).apply(h, training);
            k = l.qkv().get(1).apply(h, training);
            v = l.qkv().get(2).apply(h, training);
        }
        q = q.reshape(b, t, heads, hd);
        k = k.reshape(b, t, kvHeads, hd);
        v = v.reshape(b, t, kvHeads, hd);
        if (l.qNorm() != null) { // Qwen3: per-head RMSNorm of q and k before RoPE
            q = rmsNorm(q, l.qNorm());
            k = rmsNorm(k, l.kNorm());
        }
        q = rotate(q, rope).to(attentionType).transpose(1, 2); // [B, H, T, hd]
        k = rotate(k, rope).to(attentionType).transpose(1, 2);
        v = v.to(attentionType).transpose(1, 2);
        Tensor o = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, true, new DoubleOptional(),
                kvHeads != heads);
        return l.out().apply(o.transpose(1, 2).reshape(b, t, cfg.qSize()).to(dtype), training);
    }

    /** Half-split RoPE over the first rotaryDim dims of each head, in float32. x: [B, T, heads, hd]. */
    private Tensor rotate(Tensor x, Tensor[] rope) {
        int r = this.rope.rotaryDim();
        int hd = cfg.headDim();
        Tensor xf = x.to(ScalarType.Float);
        Tensor x1 = xf.narrow(3, 0, r / 2);
        Tensor x2 = xf.narrow(3, r / 2, r / 2);
        Tensor o1 = x1.mul(rope[0]).sub(x2.mul(rope[1]));
        Tensor o2 = x2.mul(rope[0]).add(x1.mul(rope[1]));
        Tensor[] parts = r == hd ? new Tensor[] {o1, o2} : new Tensor[] {o1, o2, xf.narrow(3, r, hd - r)};
        return torch.cat(new TensorArrayRef(new TensorVector(parts)), 3).to(dtype);
    }

    /**
     * Float32 logits [R, V] of the rows {@code rows} (int64 indices into the flattened [B * T] positions, or null for
     * all) of the last layer's output.
     */
    public Tensor logits(Tensor x, Tensor rows) {
        return torch.linear(headInput(x, rows), headWeight()).to(ScalarType.Float);
    }

    /** The final-normed hidden states [R, d] of those rows, in the compute dtype. */
    public Tensor headInput(Tensor x, Tensor rows) {
        Tensor flat = x.reshape(-1, cfg.hiddenSize());
        Tensor picked = rows == null ? flat : torch.index_select(flat, 0, rows);
        return rmsNorm(picked, finalNorm);
    }

    /** The output head's weight [V, d] in the compute dtype, outside any graph. */
    public Tensor headWeight() {
        return cast(lmHead.detach(), dtype);
    }

    /** RMSNorm over the last dim with the weight in the activations' dtype. */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        return torch.rms_norm(x, new long[] {x.size(-1)}, new TensorOptional(cast(weight, x.scalar_type())),
                new DoubleOptional(cfg.rmsNormEps()));
    }

    private static Tensor cast(Tensor t, ScalarType dt) {
        return TensorIO.sameType(t.scalar_type(), dt) ? t : t.to(dt);
    }

    @Override
    public void close() {
        rope.close();
        embedding.close();
        if (lmHead != embedding) {
            lmHead.close();
        }
        finalNorm.close();
        for (Layer l : layers) {
            l.inputNorm().close();
            l.postNorm().close();
            if (l.qNorm() != null) {
                l.qNorm().close();
                l.kNorm().close();
            }
            l.linears().forEach(TrainLinear::close);
        }
    }
}
