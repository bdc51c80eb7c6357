package io.qwenserve.engine.model;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.kv.PagedKvCache;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRef;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Qwen v1, Qwen2 and Qwen3 on libtorch: one forward pass for all three, reading K/V through a paged cache.
 *
 * <pre>
 *   embed -> N x (RMSNorm, attention, residual, RMSNorm, SwiGLU MLP, residual) -> RMSNorm -> logits
 * </pre>
 *
 * The families differ only in data ({@link ModelConfig}: biases, GQA, q/k norm, NTK/logN, tied embeddings) and in how
 * their checkpoint tensors are named and fused at load: q/k/v become one [q+2kv, d] projection and gate/up one [2F, d]
 * projection, so each layer runs four matrix products.
 *
 * <p>Not thread-safe: one engine thread owns a model and its cache. Every tensor made during a step is released before
 * {@link #forward} returns, except the logits it returns.
 */
public final class QwenModel implements AutoCloseable {

    /** One decoder layer's weights. */
    record Layer(
            Tensor inputNorm,  // [d]
            Linear qkv,        // [(H + 2 KV) * hd, d], bias when the family has one
            Tensor qNorm,      // [hd] or null (Qwen3 only)
            Tensor kNorm,      // [hd] or null
            Linear out,        // [d, H * hd]
            Tensor postNorm,   // [d]
            Linear gateUp,     // [2F, d]: rows 0..F-1 gate (SiLU), F..2F-1 up
            Linear down) {     // [d, F]
    }

    private final ModelConfig cfg;
    private final Precision precision;
    private final Device device;
    private final RotaryEmbedding rope;
    private final ScalarType attentionType; // float32 on CPU, where libtorch's bf16 attention kernels are slow
    private final Tensor embedding; // [V, d]
    private final Layer[] layers;
    private final Tensor finalNorm; // [d]
    private final Linear lmHead;    // [V, d]
    private final KernelPolicy policy;
    private final String weightFormat;

    QwenModel(ModelConfig cfg, Precision precision, Device device, Tensor embedding, Layer[] layers,
                      Tensor finalNorm, Linear lmHead, KernelPolicy policy, String weightFormat) {
        this.cfg = cfg;
        this.policy = policy;
        this.weightFormat = weightFormat;
        this.precision = precision;
        this.device = device;
        this.rope = new RotaryEmbedding(cfg);
        this.attentionType = device.is_cpu() ? ScalarType.Float : precision.scalarType();
        this.embedding = embedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    public ModelConfig config() {
        return cfg;
    }

    public Precision precision() {
        return precision;
    }

    public Device device() {
        return device;
    }

    public RotaryEmbedding rope() {
        return rope;
    }

    /** The linear kernel a one-token step runs in the decoder layers. */
    public LinearKernel kernel() {
        return kernelFor(1);
    }

    /** The linear kernel a step of {@code tokens} tokens runs in the decoder layers. */
    public LinearKernel kernelFor(long tokens) {
        return layers.length > 0 ? layers[0].down().kernelFor(tokens) : lmHead.kernelFor(tokens);
    }

    /** The per-step kernel choice. */
    public KernelPolicy kernelPolicy() {
        return policy;
    }

    /** How the linear weights are held: none (compute dtype), int8 or gptq-int4. */
    public String weightFormat() {
        return weightFormat;
    }

    /** Bytes of every tensor the model keeps: embedding, norms and every linear weight form. */
    public long residentWeightBytes() {
        long sum = embedding.nbytes() + finalNorm.nbytes();
        for (Layer l : layers) {
            sum += l.inputNorm().nbytes() + l.postNorm().nbytes();
        }
        for (Linear lin : linears()) {
            sum += lin.residentBytes(precision);
        }
        return sum;
    }

    /**
     * Runs one step: computes and caches K/V for every new token of the batch and returns float32 logits [R, V], one row
     * per requested position in batch order. The caller closes the result.
     */
    public Tensor forward(ForwardBatch batch, PagedKvCache cache) {
        try (InferenceMode ignored = new InferenceMode();
             StepInputs in = new StepInputs(batch, rope, cache.blockSize(), cfg.groupSize(), device)) {
            Tensor x = torch.index_select(embedding, 0, in.tokens); // [T, d]
            for (int i = 0; i < layers.length; i++) {
                Tensor next;
                try (PointerScope scope = new PointerScope()) {
                    next = layer(i, x, in, cache);
                    next.retainReference(); // survives the scope; closed below
                }
                x.close();
                x = next;
            }
            try (PointerScope scope = new PointerScope()) {
                Tensor rows = in.logitRows == null ? x : torch.index_select(x, 0, in.logitRows);
                Tensor logits = lmHead.apply(rmsNorm(rows, finalNorm)).to(ScalarType.Float);
                logits.retainReference(); // the caller closes it
                x.close();
                return logits;
            }
        }
    }

    private Tensor layer(int i, Tensor x, StepInputs in, PagedKvCache cache) {
        Layer l = layers[i];
        Tensor h = x.add(attention(i, l, rmsNorm(x, l.inputNorm()), in, cache)); // residual
        return h.add(mlp(l, rmsNorm(h, l.postNorm())));                          // residual
    }

    private Tensor attention(int layer, Layer l, Tensor h, StepInputs in, PagedKvCache cache) {
        int t = in.numTokens;
        int hd = cfg.headDim();
        Tensor qkv = l.qkv().apply(h); // [T, (H + 2KV) hd]
        int heads = cfg.numHeads();
        int kvHeads = cfg.numKvHeads();
        Tensor qk = qkv.narrow(1, 0, cfg.qSize() + cfg.kvSize()).view(t, heads + kvHeads, hd);
        Tensor v = qkv.narrow(1, cfg.qSize() + cfg.kvSize(), cfg.kvSize()).view(t, kvHeads, hd);
        if (l.qNorm() != null) { // Qwen3: per-head RMSNorm of q and k before RoPE
            qk = torch.cat(new TensorArrayRef(new TensorVector(rmsNorm(qk.narrow(1, 0, heads), l.qNorm()),
                    rmsNorm(qk.narrow(1, heads, kvHeads), l.kNorm()))), 1);
        }
        qk = rotate(qk, in); // queries and keys in one pass
        Tensor q = qk.narrow(1, 0, heads);
        Tensor k = qk.narrow(1, heads, kvHeads);
        if (in.logn != null) { // Qwen v1 logN scaling, queries only, after the keys are cached
            q = q.mul(in.logn).to(precision.scalarType());
        }
        cache.keys(layer).index_copy_(0, in.slots, k);
        cache.values(layer).index_copy_(0, in.slots, v);
        Tensor o = attend(layer, q, in, cache); // [T, H hd]
        return l.out().apply(o);
    }

    /** Half-split RoPE over the first rotaryDim dims of each head, in float32 as the reference code does. */
    private Tensor rotate(Tensor x, StepInputs in) {
        int r = rope.rotaryDim();
        int hd = cfg.headDim();
        Tensor xf = x.to(ScalarType.Float);
        Tensor x1 = xf.narrow(2, 0, r / 2);
        Tensor x2 = xf.narrow(2, r / 2, r / 2);
        Tensor o1 = x1.mul(in.cos).sub(x2.mul(in.sin));
        Tensor o2 = x2.mul(in.cos).add(x1.mul(in.sin));
        Tensor[] parts = r == hd ? new Tensor[] {o1, o2} : new Tensor[] {o1, o2, xf.narrow(2, r, hd - r)};
        return torch.cat(new TensorArrayRef(new TensorVector(parts)), 2).to(precision.scalarType());
    }

    /**
     * Attention over the paged cache. K/V rows are gathered through the block tables from the [slots, KV * hd] view of
     * the pools (a plain row copy), then attended in {@link #attentionType}.
     */
    private Tensor attend(int layer, Tensor q, StepInputs in, PagedKvCache cache) {
        int kvH = cfg.numKvHeads();
        int g = cfg.groupSize();
        int hd = cfg.headDim();
        Tensor keys = cache.keyRows(layer);
        Tensor values = cache.valueRows(layer);
        Tensor decodeOut = null;
        if (in.numDecode > 0) {
            int b = in.numDecode;
            int ctx = in.decodeMaxContext;
            Tensor qd = in.decodeStart >= 0 ? q.narrow(0, in.decodeStart, b) : torch.index_select(q, 0, in.decodeRows);
            Tensor kd = gather(keys, in.decodeGather).view(b, ctx, kvH, hd).permute(0, 2, 1, 3);   // [B, KV, ctx, hd]
            Tensor vd = gather(values, in.decodeGather).view(b, ctx, kvH, hd).permute(0, 2, 1, 3);
            Tensor qg = qd.reshape(b, kvH, g, hd).to(attentionType);                                // [B, KV, g, hd]
            decodeOut = sdpa(qg, kd, vd, in.decodeMask).reshape(b, (long) cfg.qSize()).to(precision.scalarType());
            if (in.prefills.isEmpty() && b == in.numTokens) {
                return decodeOut;
            }
        }
        Tensor out = torch.empty(new long[] {in.numTokens, (long) cfg.qSize()}, Torch.options(precision.scalarType(), device), null);
        if (decodeOut != null) {
            if (in.decodeStart >= 0) {
                out.narrow(0, in.decodeStart, in.numDecode).copy_(decodeOut);
            } else {
                out.index_copy_(0, in.decodeRows, decodeOut);
            }
        }
        for (StepInputs.Prefill p : in.prefills) {
            int n = p.queryLen();
            int ctx = p.contextLen();
            // queries grouped per KV head: [1, KV, g * n, hd], row j * n + i = group member j, query i
            Tensor qp = q.narrow(0, p.tokenStart(), n).view(n, kvH, g, hd).permute(1, 2, 0, 3).reshape(1, kvH, (long) g * n, hd)
                    .to(attentionType);
            Tensor kp = gather(keys, p.gather()).view(ctx, kvH, hd).permute(1, 0, 2).unsqueeze(0);   // [1, KV, ctx, hd]
            Tensor vp = gather(values, p.gather()).view(ctx, kvH, hd).permute(1, 0, 2).unsqueeze(0);
            Tensor o = sdpa(qp, kp, vp, p.mask()).view(kvH, g, n, hd).permute(2, 0, 1, 3).reshape(n, (long) cfg.qSize());
            out.narrow(0, p.tokenStart(), n).copy_(o);
        }
        return out;
    }

    private Tensor gather(Tensor rows, Tensor index) {
        return torch.index_select(rows, 0, index).to(attentionType);
    }

    private static Tensor sdpa(Tensor q, Tensor k, Tensor v, Tensor mask) {
        return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(mask), 0.0, false, new DoubleOptional(), false);
    }

    private Tensor mlp(Layer l, Tensor h) {
        long f = cfg.intermediateSize();
        Tensor gu = l.gateUp().apply(h);
        return l.down().apply(torch.silu(gu.narrow(1, 0, f)).mul(gu.narrow(1, f, f)));
    }

    /** RMSNorm over the last dim (libtorch's fused kernel: normalised and scaled in float32, rounded once). */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        return torch.rms_norm(x, new long[] {x.size(-1)}, new TensorOptional(weight), new DoubleOptional(cfg.rmsNormEps()));
    }

    /** The linear layers in the order a step runs them, output head last (for the matmul-bound benchmark). */
    public List<Linear> linears() {
        List<Linear> all = new ArrayList<>();
        for (Layer l : layers) {
            all.add(l.qkv());
            all.add(l.out());
            all.add(l.gateUp());
            all.add(l.down());
        }
        all.add(lmHead);
        return all;
    }

    /** Weight bytes read per decode step (every linear once, plus one embedding row). */
    public long weightBytesPerStep() {
        return linears().stream().mapToLong(lin -> lin.weightBytes(precision)).sum();
    }

    @Override
    public void close() {
        embedding.close();
        finalNorm.close();
        lmHead.close();
        for (Layer l : layers) {
            l.inputNorm().close();
            l.qkv().close();
            if (l.qNorm() != null) {
                l.qNorm().close();
                l.kNorm().close();
            }
            l.out().close();
            l.postNorm().close();
            l.gateUp().close();
            l.down().close();
        }
    }
}
