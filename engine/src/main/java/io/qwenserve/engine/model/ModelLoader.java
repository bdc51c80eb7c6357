package io.qwenserve.engine.model;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.QwenModel.Layer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRef;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Makes a {@link QwenModel} from a checkpoint folder: reads and checks each family's tensors, fuses q/k/v and gate/up
 * into one projection each, unpacks GPTQ Int4 weights, and prepares every linear's weight for the kernels its policy
 * may pick. The model itself is only the forward pass.
 *
 * <p>The rows of each q and k head in the fused q/k/v projection (weight, bias, GPTQ data) and Qwen3's q/k norm weights
 * are reordered within the head as {@link RotaryEmbedding#headPermutation} says, so that RoPE pairs are adjacent; the
 * v rows keep the checkpoint's order. Anything that adds to the q or k projection (an adapter) must reorder its output
 * rows the same way.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /** Loads {@code dir} (config.json + safetensors). */
    public static QwenModel load(Path dir, ModelOptions options) {
        return load(ModelConfig.load(dir), dir, options);
    }

    /** Loads the safetensors of {@code dir} for an already parsed config. */
    public static QwenModel load(ModelConfig cfg, Path dir, ModelOptions options) {
        TorchRuntime.init(options.threads());
        DeviceMap devices = DeviceMap.parse(options.device(), cfg.numLayers());
        boolean cpu = devices.isCpu();
        GptqConfig gptq = GptqConfig.load(dir);
        if (gptq != null && options.quantization() != Quantization.NONE) {
            throw new IllegalArgumentException(dir + " is a GPTQ Int4 checkpoint: --quantize " + options.quantization().cliName()
                    + " does not apply (its linears run the int4 kernel, or are dequantized)");
        }
        if (options.quantization() == Quantization.INT8 && !cpu) {
            throw new IllegalArgumentException("--quantize int8 runs fbgemm kernels, on the CPU only");
        }
        KernelPolicy policy = options.resolvePolicy(cpu, gptq != null);
        policy.checkDevice(cpu);
        if (policy.kernels().contains(LinearKernel.ONEDNN_PREPACKED) && OneDnn.get() == null) {
            throw new IllegalArgumentException("kernel ONEDNN_PREPACKED: this libtorch has no oneDNN");
        }
        LinearKernel floatDefault = LinearKernel.defaultFor(cpu, options.precision());
        try (InferenceMode ignored = new InferenceMode();
             Checkpoint ckpt = Checkpoint.open(dir)) {
            WeightLoader loader = new WeightLoader(ckpt, options.precision(), options.progress() ? System.err : null);
            Loader l = new Loader(cfg, ckpt, loader, policy, floatDefault, gptq, options.precision(), devices.first());
            Tensor embedding = l.weight(cfg.architecture().embedding(), cfg.vocabSize(), cfg.hiddenSize());
            Layer[] layers = new Layer[cfg.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = l.on(devices.forLayer(i)).layer(i);
                if (i == 0 && policy.isMeasured()) { // the first layer holds every candidate's form: time them there
                    List<Linear> first = List.of(layers[0].qkv(), layers[0].out(), layers[0].gateUp(), layers[0].down());
                    policy = KernelTuner.tune(first, policy.measure(), options.precision());
                    for (Linear lin : first) {
                        lin.retain(policy);
                    }
                    l = new Loader(cfg, ckpt, loader, policy, floatDefault, gptq, options.precision(), devices.first());
                }
            }
            Loader head = l.on(devices.last());
            Tensor finalNorm = head.weight(cfg.architecture().finalNorm(), cfg.hiddenSize());
            Linear lmHead = cfg.tieWordEmbeddings()
                    ? Linear.of(onDevice(embedding, devices.last()), null, policy, floatDefault)
                    : Linear.of(head.weight(cfg.architecture().lmHead(), cfg.vocabSize(), cfg.hiddenSize()), null, policy, floatDefault);
            loader.finish();
            if (gptq != null) {
                logGptq(dir, gptq, layers, policy, options.precision());
            }
            QwenModel model = new QwenModel(cfg, options.precision(), devices, embedding, layers, finalNorm, lmHead, policy,
                    gptq != null ? "gptq-int4" : options.quantization().cliName());
            if (devices.stages() > 1) {
                model.checkPlacement();
                java.util.logging.Logger.getLogger(ModelLoader.class.getName()).info(dir + ": " + devices.describe());
            }
            return model;
        }
    }

    /**
     * The tied output head's weight: the embedding itself (a new reference) on its device, else a copy on the head's
     * device.
     */
    private static Tensor onDevice(Tensor embedding, Device device) {
        return embedding.device().str().getString().equals(device.str().getString()) ? new Tensor(embedding)
                : embedding.to(device, embedding.scalar_type());
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
                            : "shape, group size or dtype fits no int4 kernel, or on CUDA the int4 kernel did not pass its probe:"
                            + " see the CudaInt4 line");
        }
        java.util.logging.Logger.getLogger(ModelLoader.class.getName()).info(msg);
    }

    /** Reads, checks and fuses one family's tensors. */
    private record Loader(ModelConfig cfg, Checkpoint ckpt, WeightLoader loader, KernelPolicy policy,
                          LinearKernel floatDefault, GptqConfig gptq, Precision precision, Device device) {
        /** This loader, placing what it loads on {@code d}. */
        Loader on(Device d) {
            return d == device ? this : new Loader(cfg, ckpt, loader, policy, floatDefault, gptq, precision, d);
        }

        Tensor weight(String name, long... shape) {
            return loader.load(ckpt.requireFloat(name, shape), device);
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
                    ? linear(new String[] {a.fusedQkv(i)}, new long[] {q + 2 * kv}, d, true, qkvRowOrder())
                    : linear(new String[] {a.qProj(i), a.kProj(i), a.vProj(i)}, new long[] {q, kv, kv}, d, cfg.qkvBias(),
                            qkvRowOrder());
            Tensor qNorm = cfg.qkNorm() ? reorder(weight(a.qNorm(i), cfg.headDim()), headOrder()) : null;
            Tensor kNorm = cfg.qkNorm() ? reorder(weight(a.kNorm(i), cfg.headDim()), headOrder()) : null;
            Linear out = linear(new String[] {a.attnOut(i)}, new long[] {d}, q, false, null);
            Linear gateUp = linear(new String[] {a.mlpGate(i), a.mlpUp(i)}, new long[] {f, f}, d, false, null);
            Linear down = linear(new String[] {a.mlpDown(i)}, new long[] {d}, f, false, null);
            return new Layer(weight(a.inputNorm(i), d), qkv, qNorm, kNorm, out, weight(a.postAttentionNorm(i), d), gateUp, down);
        }

        /** Row order of the fused q/k/v projection: each q and k head in RoPE order, v rows as stored. */
        Tensor qkvRowOrder() {
            int hd = cfg.headDim();
            int[] head = RotaryEmbedding.headPermutation(hd, cfg.rotaryDim());
            int qk = cfg.numHeads() + cfg.numKvHeads();
            long[] order = new long[(int) (cfg.qSize() + 2L * cfg.kvSize())];
            for (int r = 0; r < order.length; r++) {
                int h = r / hd;
                order[r] = h < qk ? (long) h * hd + head[r % hd] : r;
            }
            return Torch.longs(order, new Device(torch.DeviceType.CPU));
        }

        Tensor headOrder() {
            int[] head = RotaryEmbedding.headPermutation(cfg.headDim(), cfg.rotaryDim());
            return Torch.longs(head, new Device(torch.DeviceType.CPU));
        }

        /** {@code t} with its rows (dim 0) in {@code order} (closed and replaced; null-safe; order closed too). */
        private Tensor reorder(Tensor t, Tensor order) {
            if (order == null) {
                return t;
            }
            try (order) {
                if (t == null) {
                    return null;
                }
                Tensor on = t.is_cpu() ? order : order.to(t.device(), order.scalar_type());
                Tensor r = torch.index_select(t, 0, on);
                t.close();
                if (on != order) {
                    on.close();
                }
                return r;
            }
        }

        /**
         * One linear fused from {@code prefixes} along the output dimension, its output rows then put in {@code order}
         * (null: as stored). Float parts read {@code P.weight}; GPTQ parts read {@code P.qweight/qzeros/scales/g_idx}. A
         * bias is required when {@code bias}, else read when present (GPTQ files carry zero biases for every layer;
         * all-zero ones are dropped).
         */
        Linear linear(String[] prefixes, long[] outs, long in, boolean bias, Tensor order) {
            boolean quantized = ckpt.find(prefixes[0] + ".qweight").isPresent();
            Tensor b = order == null ? biases(prefixes, outs, bias) : reorder(biases(prefixes, outs, bias), new Tensor(order));
            if (!quantized) {
                Tensor[] parts = new Tensor[prefixes.length];
                for (int p = 0; p < prefixes.length; p++) {
                    parts[p] = weight(prefixes[p] + ".weight", outs[p], in);
                }
                return Linear.of(reorder(cat(0, parts), order), b, policy, floatDefault);
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
            if (fused != null && order != null) {
                fused = fused.selectOutputs(order);
                order = null;
            }
            if (fused != null && !device.is_cpu()) { // CUDA: the int4 kernel where it fits and runs
                String unfit = !policy.kernels().contains(LinearKernel.INT4_PACKED) ? "kernel policy " + policy
                        : CudaInt4.unfit(fused, device);
                if (unfit == null) {
                    return Linear.ofGptqCuda(prefixes[0], fused, b, precision.scalarType(), device);
                }
                java.util.logging.Logger.getLogger(ModelLoader.class.getName()).fine(() -> prefixes[0]
                        + ": GPTQ dequantized to " + precision.cliName() + " on " + device.str().getString() + " (" + unfit + ")");
            }
            if (fused == null || !device.is_cpu()) { // act-order parts, or CUDA where the int4 kernel does not fit
                Tensor w = reorder(fused != null ? dequantizeTo(fused)
                        : cat(0, parts.stream().map(this::dequantizeTo).toArray(Tensor[]::new)), order);
                if (fused == null) {
                    java.util.logging.Logger.getLogger(ModelLoader.class.getName()).fine(() -> prefixes[0]
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
}
