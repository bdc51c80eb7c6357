package io.qwenserve.engine.model;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.kv.PagedKvCache;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
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
    private record Layer(
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

    private QwenModel(ModelConfig cfg, Precision precision, Device device, Tensor embedding, Layer[] layers,
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

    /** Loads {@code dir} (config.json + safetensors). */
    public static QwenModel load(Path dir, ModelOptions options) {
        return load(ModelConfig.load(dir), dir, options);
    }

    /** Loads the safetensors of {@code dir} for an already parsed config. */
    public static QwenModel load(ModelConfig cfg, Path dir, ModelOptions options) {
        TorchRuntime.init();
        Device device = Torch.device(options.device());
        GptqConfig gptq = GptqConfig.load(dir);
        if (gptq != null && options.quantization() != Quantization.NONE) {
            throw new IllegalArgumentException(dir + " is a GPTQ Int4 checkpoint: --quantize " + options.quantization().cliName()
                    + " does not apply (its linears run the int4 kernel, or are dequantized)");
        }
        if (options.quantization() == Quantization.INT8 && !device.is_cpu()) {
            throw new IllegalArgumentException("--quantize int8 runs fbgemm kernels, on the CPU only");
        }
        KernelPolicy policy = options.resolvePolicy(device.is_cpu(), gptq != null);
        policy.checkDevice(device.is_cpu());
        if (policy.kernels().contains(LinearKernel.ONEDNN_PREPACKED) && OneDnn.get() == null) {
            throw new IllegalArgumentException("kernel ONEDNN_PREPACKED: this libtorch has no oneDNN");
        }
        LinearKernel floatDefault = LinearKernel.defaultFor(device.is_cpu(), options.precision());
        try (InferenceMode ignored = new InferenceMode();
             Checkpoint ckpt = Checkpoint.open(dir)) {
            WeightLoader loader = new WeightLoader(ckpt, options.precision(), device, options.progress() ? System.err : null);
            Loader l = new Loader(cfg, ckpt, loader, policy, floatDefault, gptq, options.precision(), device);
            Tensor embedding = l.weight(cfg.architecture().embedding(), cfg.vocabSize(), cfg.hiddenSize());
            Layer[] layers = new Layer[cfg.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = l.layer(i);
            }
            Tensor finalNorm = l.weight(cfg.architecture().finalNorm(), cfg.hiddenSize());
            Linear lmHead = cfg.tieWordEmbeddings()
                    ? Linear.of(new Tensor(embedding), null, policy, floatDefault)
                    : Linear.of(l.weight(cfg.architecture().lmHead(), cfg.vocabSize(), cfg.hiddenSize()), null, policy, floatDefault);
            loader.finish();
            if (gptq != null) {
                logGptq(dir, gptq, layers, policy, options.precision());
            }
            return new QwenModel(cfg, options.precision(), device, embedding, layers, finalNorm, lmHead, policy,
                    gptq != null ? "gptq-int4" : options.quantization().cliName());
        }
    }

    /** One line on how a GPTQ checkpoint's linears run: the int4 kernel, or dequantized (and why). */
    private static void logGptq(Path dir, GptqConfig gptq, Layer[] layers, KernelPolicy policy, Precision precision) {
        int int4 = 0;
        int total = 0;
        for (Layer l : layers) {
            for (Linear lin : new Linear[] {l.qkv(), l.out(), l.gateUp(), l.down()}) {
                total++;
                int4 += lin.heldKernels().contains(LinearKernel.INT4_PACKED) ? 1 : 0;
            }
        }
        String msg = String.format("%s: GPTQ int4 (group %d, desc_act %s): %d of %d linears run the int4 kernel", dir,
                gptq.groupSize(), gptq.descAct(), int4, total);
        if (int4 < total) {
            msg += String.format("; %d dequantized to %s (%s)", total - int4, precision.cliName(),
                    !policy.kernels().contains(LinearKernel.INT4_PACKED) ? "kernel policy " + policy
                            : gptq.descAct() ? "desc_act: act-order g_idx fits no int4 kernel"
                            : "shape or group size fits no int4 kernel, or not on the CPU");
        }
        java.util.logging.Logger.getLogger(QwenModel.class.getName()).info(msg);
    }

    /** Reads, checks and fuses one family's tensors. */
    private record Loader(ModelConfig cfg, Checkpoint ckpt, WeightLoader loader, KernelPolicy policy,
                          LinearKernel floatDefault, GptqConfig gptq, Precision precision, Device device) {
        Tensor weight(String name, long... shape) {
            return loader.load(ckpt.requireFloat(name, shape));
        }

        Tensor optional(String name, long... shape) {
            return ckpt.find(name).isPresent() ? weight(name, shape) : null;
        }

        Layer layer(int i) {
            Architecture a = cfg.architecture();
            long d = cfg.hiddenSize();
            long q = cfg.qSize();
            long kv = cfg.kvSize();
            long f = cfg.intermediateSize();
            Linear qkv = a == Architecture.QWEN
                    ? linear(new String[] {a.fusedQkv(i)}, new long[] {q + 2 * kv}, d, true)
                    : linear(new String[] {a.qProj(i), a.kProj(i), a.vProj(i)}, new long[] {q, kv, kv}, d, cfg.qkvBias());
            Tensor qNorm = cfg.qkNorm() ? weight(a.qNorm(i), cfg.headDim()) : null;
            Tensor kNorm = cfg.qkNorm() ? weight(a.kNorm(i), cfg.headDim()) : null;
            Linear out = linear(new String[] {a.attnOut(i)}, new long[] {d}, q, false);
            Linear gateUp = linear(new String[] {a.mlpGate(i), a.mlpUp(i)}, new long[] {f, f}, d, false);
            Linear down = linear(new String[] {a.mlpDown(i)}, new long[] {d}, f, false);
            return new Layer(weight(a.inputNorm(i), d), qkv, qNorm, kNorm, out, weight(a.postAttentionNorm(i), d), gateUp, down);
        }

        /**
         * One linear fused from {@code prefixes} along the output dimension. Float parts read {@code P.weight}; GPTQ
         * parts read {@code P.qweight/qzeros/scales/g_idx}. A bias is required when {@code bias}, else read when present
         * (GPTQ files carry zero biases for every layer; all-zero ones are dropped).
         */
        Linear linear(String[] prefixes, long[] outs, long in, boolean bias) {
            boolean quantized = ckpt.find(prefixes[0] + ".qweight").isPresent();
            Tensor b = biases(prefixes, outs, bias);
            if (!quantized) {
                Tensor[] parts = new Tensor[prefixes.length];
                for (int p = 0; p < prefixes.length; p++) {
                    parts[p] = weight(prefixes[p] + ".weight", outs[p], in);
                }
                return Linear.of(cat(0, parts), b, policy, floatDefault);
            }
            if (gptq == null) {
                throw new io.qwenserve.engine.checkpoint.CheckpointException(ckpt.dir() + ": tensor '" + prefixes[0]
                        + ".qweight' but no " + GptqConfig.FILE + " (nor quantization_config in config.json)");
            }
            List<GptqWeight> parts = new ArrayList<>();
            for (int p = 0; p < prefixes.length; p++) {
                parts.add(gptqPart(prefixes[p], outs[p], in));
            }
            GptqWeight fused = parts.size() == 1 ? parts.get(0) : GptqWeight.concat(parts);
            if (fused == null || !device.is_cpu()) { // act-order parts, or CUDA: dequantize to the compute dtype
                Tensor w = fused != null ? dequantizeTo(fused)
                        : cat(0, parts.stream().map(this::dequantizeTo).toArray(Tensor[]::new));
                if (fused == null) {
                    java.util.logging.Logger.getLogger(QwenModel.class.getName()).fine(() -> prefixes[0]
                            + ": GPTQ act-order parts dequantized to " + precision.cliName());
                }
                return Linear.of(w, b, policy, floatDefault);
            }
            return Linear.ofGptq(prefixes[0], fused, b, policy, floatDefault, precision.scalarType());
        }

        private Tensor dequantizeTo(GptqWeight w) {
            try (Tensor host = w.dequantize(precision.scalarType())) {
                w.close();
                return host.to(device, precision.scalarType());
            }
        }

        private Tensor biases(String[] prefixes, long[] outs, boolean required) {
            Tensor[] parts = new Tensor[prefixes.length];
            boolean any = false;
            for (int p = 0; p < prefixes.length; p++) {
                parts[p] = required ? weight(prefixes[p] + ".bias", outs[p]) : optional(prefixes[p] + ".bias", outs[p]);
                any |= parts[p] != null;
            }
            if (!any) {
                return null;
            }
            for (int p = 0; p < prefixes.length; p++) {
                if (parts[p] == null) {
                    parts[p] = torch.zeros(new long[] {outs[p]}, Torch.options(precision.scalarType(), device));
                }
            }
            Tensor b = parts.length == 1 ? parts[0] : cat(0, parts);
            if (!required) {
                try (PointerScope scope = new PointerScope()) {
                    if (b.abs().amax().item_float() == 0f) {
                        b.close();
                        return null;
                    }
                }
            }
            return b;
        }

        /** Reads and unpacks one GPTQ linear (AutoGPTQ v1 packing, qwen-reference section 4). */
        private GptqWeight gptqPart(String prefix, long out, long in) {
            int g = gptq.groupSize() <= 0 ? (int) in : gptq.groupSize();
            long groups = (in + g - 1) / g;
            if (in % 8 != 0 || out % 8 != 0) {
                throw new io.qwenserve.engine.checkpoint.CheckpointException(prefix + ": GPTQ needs in and out features divisible by 8");
            }
            try (Tensor qweight = loader.loadHost(ckpt.require(prefix + ".qweight", in / 8, out));
                 Tensor qzeros = loader.loadHost(ckpt.require(prefix + ".qzeros", groups, out / 8));
                 Tensor scalesRaw = loader.loadHost(ckpt.requireFloat(prefix + ".scales", groups, out));
                 Tensor gIdxRaw = ckpt.find(prefix + ".g_idx").isPresent()
                         ? loader.loadHost(ckpt.require(prefix + ".g_idx", in)) : null;
                 PointerScope scope = new PointerScope()) {
                checkInt(ckpt.require(prefix + ".qweight", in / 8, out));
                checkInt(ckpt.require(prefix + ".qzeros", groups, out / 8));
                return GptqWeight.unpack(prefix, qweight, qzeros, scalesRaw, gIdxRaw, in, out, g);
            }
        }

        private static void checkInt(TensorInfo t) {
            if (t.dtype() != io.qwenserve.engine.checkpoint.DType.I32) {
                throw new io.qwenserve.engine.checkpoint.CheckpointException(t.where() + ": dtype " + t.dtype() + ", expected I32");
            }
        }

        private static Tensor cat(int dim, Tensor... parts) {
            if (parts.length == 1) {
                return parts[0];
            }
            // the scope releases the vector's references at once (else the parts' storage lives until a GC)
            try (PointerScope scope = new PointerScope()) {
                Tensor joined = torch.cat(new TensorArrayRef(new TensorVector(parts)), dim);
                joined.retainReference();
                for (Tensor p : parts) {
                    p.close();
                }
                return joined;
            }
        }
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
