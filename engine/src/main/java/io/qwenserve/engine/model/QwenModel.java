package io.qwenserve.engine.model;

import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.lora.LoraStep;
import io.qwenserve.engine.lora.LoraWeights.Target;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
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
 * projection, so each layer runs four matrix products. The q and k rows of the projection are stored in the rotary
 * embedding's within-head order ({@link RotaryEmbedding#headPermutation}), which makes RoPE one complex product.
 *
 * <p>A step is few libtorch calls: its indices and masks reach the device in one buffer ({@link StepInputs}), the
 * residual stream is updated in place, RoPE rotates q and k in place inside the projection output, whose k and v
 * columns then go to the cache in one row copy, and attention reads each layer's pool with one gather
 * ({@link PagedAttention}).
 *
 * <p>Measured and left out: libtorch has no fused residual + RMSNorm or SiLU·up for the CPU ({@code _fused_rms_norm}
 * was no faster than {@code rms_norm} here, 21-24 us against 20-35 us for one token); a LayerNorm over {@code [x, -x]}
 * (which equals RMSNorm) saved 10 us at one token and lost at 32. TorchScript ({@code torch.compile(String)}): a
 * prototype of this decode step (0.5B shape, plain {@code torch.linear}) run as one 24-layer script spent 9.1 ms per
 * step outside the linear layers against 12.4 ms for the same operations called from Java (medians, one process,
 * loaded machine), but a script compiled from a string reaches {@code aten::} operators only
 * (the native resolver maps {@code torch.*} and nothing else), not {@code mkldnn::_linear_pointwise} nor
 * {@code quantized::linear_dynamic}, the fastest kernels above one token; short scripts between the Java-side linear
 * calls (four per layer) were no faster than these calls. The step stays in Java.
 *
 * <p>Over a list of devices ({@link DeviceMap}) each stage of consecutive layers has its weights, KV pools and RoPE
 * table on its device; a step's input buffer is copied to each device once, each stage reads its own views of it, and
 * the residual stream is copied to the next stage's device between stages (pipeline placement, one step at a time).
 *
 * <p>Not thread-safe: one engine thread owns a model and its cache. Every tensor made during a step is released before
 * {@link #forward} returns, except the logits it returns.
 */
public final class QwenModel implements AutoCloseable {

    /** One decoder layer's weights. */
    record Layer(
            Tensor inputNorm,  // [d]
            Linear qkv,        // [(H + 2 KV) * hd, d], bias when the family has one; q and k rows in RoPE order
            Tensor qNorm,      // [hd] or null (Qwen3 only), in RoPE order
            Tensor kNorm,      // [hd] or null
            Linear out,        // [d, H * hd]
            Tensor postNorm,   // [d]
            Linear gateUp,     // [2F, d]: rows 0..F-1 gate (SiLU), F..2F-1 up
            Linear down) {     // [d, F]
    }

    private final ModelConfig cfg;
    private final Precision precision;
    private final DeviceMap devices;
    private final RotaryEmbedding[] ropes; // per stage, each table on its stage's device
    private final PagedAttention attention;
    private final Tensor embedding; // [V, d]
    private final Layer[] layers;
    private final Tensor finalNorm; // [d]
    private final Linear lmHead;    // [V, d]
    private final KernelPolicy policy;
    private final String weightFormat;
    private Tensor logitsBuffer; // float32 [rows, V], reused by steps of up to BUFFERED_LOGIT_ROWS rows
    static final int BUFFERED_LOGIT_ROWS = 64;

    QwenModel(ModelConfig cfg, Precision precision, DeviceMap devices, Tensor embedding, Layer[] layers,
                      Tensor finalNorm, Linear lmHead, KernelPolicy policy, String weightFormat) {
        this.cfg = cfg;
        this.policy = policy;
        this.weightFormat = weightFormat;
        this.precision = precision;
        this.devices = devices;
        this.ropes = new RotaryEmbedding[devices.stages()];
        for (int s = 0; s < ropes.length; s++) {
            ropes[s] = new RotaryEmbedding(cfg, devices.device(s));
        }
        this.attention = new PagedAttention(cfg);
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

    /** Where the layers run: one device, or consecutive layers on each of several ({@link DeviceMap}). */
    public DeviceMap devices() {
        return devices;
    }

    /** The rotary embedding's host-side rules (dynamic-NTK alpha, logN scale); its tables are per device. */
    public RotaryEmbedding rope() {
        return ropes[0];
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
     * per requested position in batch order. The caller closes the result; it is valid until the next step (steps of
     * up to {@value #BUFFERED_LOGIT_ROWS} rows share one buffer).
     */
    public Tensor forward(ForwardBatch batch, PagedKvCache cache) {
        try (PointerScope step = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            Step s = prepare(batch, cache, buf);
            upload(s, buf);
            Tensor logits = forward(s, buf, cache);
            logits.retainReference(); // survives the step's scope; the caller closes it
            return logits;
        }
    }

    /** A step packed into a {@link StepBuffer}, ready to run once the buffer is on the device. */
    public static final class Step {
        private final StepInputs.Packed packed;
        private final int bytes; // the forward pass's sections end here; later ones (the sampler's) serve the last device

        private Step(StepInputs.Packed packed, int bytes) {
            this.packed = packed;
            this.bytes = bytes;
        }
    }

    /** Host side of a step: packs its inputs into {@code buf}, which the caller then {@link #upload}s. */
    public Step prepare(ForwardBatch batch, PagedKvCache cache, StepBuffer buf) {
        StepInputs.Packed packed = StepInputs.pack(batch, ropes[0], cache.blockSize(), buf);
        return new Step(packed, buf.size());
    }

    /**
     * Copies a step's inputs to every device the model runs on, once each: the whole buffer to the last device (the
     * logits and the sampler are there), the forward pass's sections only to the others.
     */
    public void upload(Step step, StepBuffer buf) {
        String last = devices.name(devices.stages() - 1);
        for (int s = 0; s < devices.stages(); s++) { // StepBuffer copies once per device, the first call's part
            boolean sampler = devices.name(s).equals(last);
            buf.upload(devices.device(s), sampler ? buf.size() : step.bytes);
        }
    }

    /**
     * Runs a prepared step whose buffer is on the model's devices ({@link #upload}); the logits [R, V] float32, on the
     * last device, belong to the caller's {@code PointerScope} (or to the caller, to close) and are valid
     * until the next step (see {@link #forward(ForwardBatch, PagedKvCache)}). Over several devices each stage runs its
     * layers with its own views of the step's inputs, and the residual stream is copied to the next stage's device.
     */
    public Tensor forward(Step step, StepBuffer buf, PagedKvCache cache) {
        try (InferenceMode ignored = new InferenceMode()) {
            LoraStep lora = step.packed.batch().loraStep(); // null unless a sequence has a LoRA adapter
            Tensor x = null; // [T, d]: the residual stream
            StepInputs in = null;
            for (int s = 0; s < ropes.length; s++) {
                Device d = devices.device(s);
                in = new StepInputs(step.packed, buf, ropes[s], d);
                x = s == 0 ? torch.index_select(embedding, 0, in.tokens) : toStage(x, d);
                for (int i = devices.firstLayer(s); i < devices.endLayer(s); i++) {
                    try (PointerScope scope = new PointerScope()) {
                        layer(layers[i], i, x, in, cache, lora);
                    }
                }
            }
            Tensor rows = in.logitRows == null ? x : torch.index_select(x, 0, in.logitRows);
            return toFloat(lmHead.apply(rmsNorm(rows, finalNorm)));
        }
    }

    /** The residual stream copied to the next stage's device (a copy even on the same device: stages share nothing). */
    private static Tensor toStage(Tensor x, Device d) {
        Transfers.countBetweenDevices();
        return x.to(d, x.scalar_type(), false, true, new org.bytedeco.pytorch.MemoryFormatOptional());
    }

    /**
     * The logits in float32. Steps of up to {@value #BUFFERED_LOGIT_ROWS} rows write into one buffer the model keeps (a
     * view of it is returned, valid until the next step), so that a decode step does not allocate and fault in a fresh
     * [rows, V] float32 tensor (19 MB at 32 rows of a 151,936 vocabulary); larger ones get their own tensor.
     */
    private Tensor toFloat(Tensor logits) {
        long r = logits.size(0);
        if (r > BUFFERED_LOGIT_ROWS) {
            return logits.to(ScalarType.Float);
        }
        if (logitsBuffer == null || logitsBuffer.size(0) < r) {
            if (logitsBuffer != null) {
                logitsBuffer.close();
            }
            try (PointerScope none = new PointerScope()) {
                logitsBuffer = torch.empty(new long[] {Math.min(BUFFERED_LOGIT_ROWS, Math.max(r, 8)), logits.size(1)},
                        Torch.options(ScalarType.Float, devices.last()), null);
                logitsBuffer.retainReference();
            }
        }
        Tensor out = logitsBuffer.narrow(0, 0, r);
        out.copy_(logits);
        return out;
    }

    /** One decoder layer: updates the residual stream {@code x} [T, d] in place. */
    private void layer(Layer l, int i, Tensor x, StepInputs in, PagedKvCache cache, LoraStep lora) {
        Tensor qkv = linear(l.qkv(), rmsNorm(x, l.inputNorm()), lora, i, Target.QKV);      // [T, (H + 2 KV) hd]
        x.add_(linear(l.out(), attention(l, i, qkv, in, cache), lora, i, Target.OUT));       // residual
        Tensor gateUp = linear(l.gateUp(), rmsNorm(x, l.postNorm()), lora, i, Target.GATE_UP); // [T, 2F]
        x.add_(linear(l.down(), swiGlu(gateUp), lora, i, Target.DOWN));                     // residual
    }

    /** {@code x W^T + b}, plus each row's LoRA update when the step has adapters. */
    private static Tensor linear(Linear w, Tensor x, LoraStep lora, int layer, Target target) {
        Tensor y = w.apply(x);
        if (lora != null) {
            lora.apply(layer, target, x, y);
        }
        return y;
    }

    /**
     * Queries and keys normed (Qwen3) and rotated in place inside {@code qkv}, the new keys and values cached with one
     * row copy, then attention of the queries over each sequence's cached context: [T, H hd].
     */
    private Tensor attention(Layer l, int layer, Tensor qkv, StepInputs in, PagedKvCache cache) {
        long t = in.numTokens;
        int heads = cfg.numHeads();
        Tensor qk = qkv.narrow(1, 0, cfg.qSize() + cfg.kvSize()).view(t, heads + cfg.numKvHeads(), cfg.headDim());
        if (l.qNorm() != null) { // Qwen3: per-head RMSNorm of q and k before RoPE
            Tensor q = qk.narrow(1, 0, heads);
            Tensor k = qk.narrow(1, heads, cfg.numKvHeads());
            q.copy_(rmsNorm(q, l.qNorm()));
            k.copy_(rmsNorm(k, l.kNorm()));
        }
        rope().rotate(qk, in.freqs); // the factors are on this layer's device; rotate reads only the head shape
        cache.write(layer, in.slots, qkv.narrow(1, cfg.qSize(), 2L * cfg.kvSize()));
        Tensor q = qkv.narrow(1, 0, cfg.qSize());
        if (in.logn != null) { // Qwen v1 logN scaling, queries only, after the keys are cached
            q.mul_(in.logn);
        }
        return attention.attend(q, cache.rows(layer), in);
    }

    /** SiLU(gate) * up over the [T, 2F] gate/up projection: [T, F]. */
    private Tensor swiGlu(Tensor gateUp) {
        long f = cfg.intermediateSize();
        return torch.silu(gateUp.narrow(1, 0, f)).mul_(gateUp.narrow(1, f, f));
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

    /**
     * Checks that every tensor the model keeps is on the device its {@link DeviceMap} says: each layer's on its
     * stage's, the embedding on the first, the final norm and head on the last (a misplaced tensor would otherwise fail
     * mid-step, or copy silently).
     *
     * @throws IllegalStateException naming the first misplaced tensor
     */
    void checkPlacement() {
        on(embedding, devices.name(0), "embedding");
        for (int i = 0; i < layers.length; i++) {
            Layer l = layers[i];
            String d = devices.name(devices.stageOf(i));
            String at = "layer " + i + " ";
            on(l.inputNorm(), d, at + "input norm");
            on(l.postNorm(), d, at + "post-attention norm");
            on(l.qNorm(), d, at + "q norm");
            on(l.kNorm(), d, at + "k norm");
            for (Linear lin : new Linear[] {l.qkv(), l.out(), l.gateUp(), l.down()}) {
                for (Tensor t : lin.tensors()) {
                    on(t, d, at + "linear [" + lin.outFeatures() + ", " + lin.inFeatures() + "]");
                }
            }
        }
        String last = devices.name(devices.stages() - 1);
        on(finalNorm, last, "final norm");
        for (Tensor t : lmHead.tensors()) {
            on(t, last, "output head");
        }
    }

    private static void on(Tensor t, String device, String what) {
        if (t == null) {
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            String actual = t.device().str().getString();
            if (!actual.equals(device)) {
                throw new IllegalStateException(what + " is on " + actual + ", expected " + device);
            }
        }
    }

    /** The device of linear {@code i} of {@link #linears()}. */
    public Device deviceOfLinear(int i) {
        return i / 4 < layers.length ? devices.forLayer(i / 4) : devices.last();
    }

    /** Weight bytes read per decode step (every linear once, plus one embedding row). */
    public long weightBytesPerStep() {
        return linears().stream().mapToLong(lin -> lin.weightBytes(precision)).sum();
    }

    @Override
    public void close() {
        for (RotaryEmbedding r : ropes) {
            r.close();
        }
        if (logitsBuffer != null) {
            logitsBuffer.close();
        }
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
