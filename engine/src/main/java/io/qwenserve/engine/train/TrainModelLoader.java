package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.CheckpointException;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.GptqConfig;
import io.qwenserve.engine.model.TorchRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reads a checkpoint folder into a {@link TrainModel}. With {@code trainAll} every float tensor becomes an fp32
 * parameter that requires grad (full finetuning); otherwise every tensor is frozen in the compute dtype, and the linears
 * of a GPTQ Int4 checkpoint stay packed int4 ({@link FrozenInt4}). Shapes are checked against {@code config.json};
 * errors name the file and the tensor.
 */
public final class TrainModelLoader {
    private TrainModelLoader() {}

    public static TrainModel load(Path dir, ScalarType dtype, Device device, boolean trainAll) {
        TorchRuntime.init();
        ModelConfig cfg = ModelConfig.load(dir);
        GptqConfig gptq = GptqConfig.load(dir);
        if (gptq != null && trainAll) {
            throw new IllegalArgumentException(dir + " is a GPTQ Int4 checkpoint: its weights are frozen int4 and cannot be "
                    + "finetuned in full (use --method qlora)");
        }
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            Reader r = new Reader(cfg, ckpt, gptq, trainAll ? ScalarType.Float : dtype, device, trainAll);
            Architecture a = cfg.architecture();
            Tensor embedding = r.param(a.embedding(), cfg.vocabSize(), cfg.hiddenSize());
            TrainModel.Layer[] layers = new TrainModel.Layer[cfg.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = r.layer(i);
            }
            Tensor finalNorm = r.param(a.finalNorm(), cfg.hiddenSize());
            Tensor lmHead = cfg.tieWordEmbeddings() ? embedding : r.param(a.lmHead(), cfg.vocabSize(), cfg.hiddenSize());
            return new TrainModel(cfg, dtype, device, embedding, layers, finalNorm, lmHead);
        }
    }

    private record Reader(ModelConfig cfg, Checkpoint ckpt, GptqConfig gptq, ScalarType type, Device device,
                          boolean trainable) {

        Tensor param(String name, long... shape) {
            TensorInfo info = ckpt.requireFloat(name, shape);
            Tensor host = TensorIO.read(info, type);
            Tensor t = device.is_cpu() ? host : moved(host);
            return trainable ? t.requires_grad_(true) : t;
        }

        private Tensor moved(Tensor host) {
            Tensor t = host.to(device, type);
            host.close();
            return t;
        }

        TrainModel.Layer layer(int i) {
            Architecture a = cfg.architecture();
            long d = cfg.hiddenSize();
            long q = cfg.qSize();
            long kv = cfg.kvSize();
            long f = cfg.intermediateSize();
            List<TrainLinear> qkv = new ArrayList<>();
            if (a == Architecture.QWEN) {
                qkv.add(linear(a.fusedQkv(i), d, q + 2 * kv, true));
            } else {
                qkv.add(linear(a.qProj(i), d, q, cfg.qkvBias()));
                qkv.add(linear(a.kProj(i), d, kv, cfg.qkvBias()));
                qkv.add(linear(a.vProj(i), d, kv, cfg.qkvBias()));
            }
            Tensor qNorm = cfg.qkNorm() ? param(a.qNorm(i), cfg.headDim()) : null;
            Tensor kNorm = cfg.qkNorm() ? param(a.kNorm(i), cfg.headDim()) : null;
            return new TrainModel.Layer(param(a.inputNorm(i), d), qkv, qNorm, kNorm, linear(a.attnOut(i), q, d, false),
                    param(a.postAttentionNorm(i), d), linear(a.mlpGate(i), d, f, false), linear(a.mlpUp(i), d, f, false),
                    linear(a.mlpDown(i), f, d, false));
        }

        /** A float linear ({@code P.weight}) or a GPTQ one ({@code P.qweight} ...); bias required or read if present. */
        TrainLinear linear(String prefix, long in, long out, boolean biasRequired) {
            Tensor bias = biasRequired || ckpt.find(prefix + ".bias").isPresent() ? param(prefix + ".bias", out) : null;
            if (ckpt.find(prefix + ".qweight").isEmpty()) {
                return new TrainLinear(prefix, in, out, param(prefix + ".weight", out, in), null, bias);
            }
            if (gptq == null) {
                throw new CheckpointException(ckpt.dir() + ": tensor '" + prefix + ".qweight' but no " + GptqConfig.FILE
                        + " (nor quantization_config in config.json)");
            }
            if (!biasRequired && bias != null && allZero(bias)) { // GPTQ files carry zero biases for every linear
                bias.close();
                bias = null;
            }
            int g = gptq.groupSize() <= 0 ? (int) in : gptq.groupSize();
            long groups = (in + g - 1) / g;
            if (in % 8 != 0 || out % 8 != 0) {
                throw new CheckpointException(prefix + ": GPTQ needs in and out features divisible by 8");
            }
            Tensor qweight = ints(ckpt.require(prefix + ".qweight", in / 8, out));
            Tensor qzeros = ints(ckpt.require(prefix + ".qzeros", groups, out / 8));
            Tensor scales = TensorIO.read(ckpt.requireFloat(prefix + ".scales", groups, out));
            Tensor gIdx = ckpt.find(prefix + ".g_idx").isPresent() ? ints(ckpt.require(prefix + ".g_idx", in)) : null;
            return new TrainLinear(prefix, in, out, null, new FrozenInt4(prefix, qweight, qzeros, scales, gIdx, in, out, g),
                    bias);
        }

        private static Tensor ints(TensorInfo t) {
            if (t.dtype() != DType.I32) {
                throw new CheckpointException(t.where() + ": dtype " + t.dtype() + ", expected I32");
            }
            return TensorIO.read(t);
        }

        private static boolean allZero(Tensor t) {
            try (PointerScope scope = new PointerScope()) {
                return t.detach().abs().amax().item_float() == 0f;
            }
        }
    }
}
