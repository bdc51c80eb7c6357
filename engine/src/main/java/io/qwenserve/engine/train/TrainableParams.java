package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsFile;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.Architecture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The tensors a run trains, each an fp32 leaf that requires grad, with the name it is saved under: the checkpoint's
 * tensor names for a full finetune, PEFT's {@code lora_A}/{@code lora_B} keys for LoRA. Biases and norm weights take
 * no weight decay (as the Trainer's default grouping); everything else does.
 */
public final class TrainableParams {
    /** One trained tensor. */
    public record Param(String name, Tensor tensor, boolean decay) {}

    private final List<Param> params;

    private TrainableParams(List<Param> params) {
        this.params = List.copyOf(params);
    }

    /** The given tensors (each an fp32 leaf that requires grad). */
    public static TrainableParams of(List<Param> params) {
        return new TrainableParams(params);
    }

    /** Every weight of a model loaded for full training. */
    public static TrainableParams full(TrainModel m) {
        Architecture a = m.config().architecture();
        List<Param> out = new ArrayList<>();
        out.add(new Param(a.embedding(), m.embedding(), true));
        for (int i = 0; i < m.numLayers(); i++) {
            TrainModel.Layer l = m.layer(i);
            out.add(new Param(a.inputNorm(i), l.inputNorm(), false));
            for (TrainLinear lin : l.linears()) {
                out.add(new Param(lin.name() + ".weight", lin.weight(), true));
                if (lin.bias() != null) {
                    out.add(new Param(lin.name() + ".bias", lin.bias(), false));
                }
            }
            if (l.qNorm() != null) {
                out.add(new Param(a.qNorm(i), l.qNorm(), false));
                out.add(new Param(a.kNorm(i), l.kNorm(), false));
            }
            out.add(new Param(a.postAttentionNorm(i), l.postNorm(), false));
        }
        out.add(new Param(a.finalNorm(), m.finalNorm(), false));
        if (m.lmHead() != m.embedding()) {
            out.add(new Param(a.lmHead(), m.lmHead(), true));
        }
        return new TrainableParams(out);
    }

    /** The A and B of every LoRA pair attached to the model's linears. */
    public static TrainableParams lora(TrainModel m) {
        List<Param> out = new ArrayList<>();
        for (TrainLinear lin : m.linears()) {
            if (lin.lora() != null) {
                out.add(new Param(PeftAdapter.keyA(lin.name()), lin.lora().a().requires_grad_(true), true));
                out.add(new Param(PeftAdapter.keyB(lin.name()), lin.lora().b().requires_grad_(true), true));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no LoRA pairs attached");
        }
        return new TrainableParams(out);
    }

    public List<Param> list() {
        return params;
    }

    /** Number of trained values. */
    public long count() {
        return params.stream().mapToLong(p -> p.tensor().numel()).sum();
    }

    public TensorVector tensors() {
        TensorVector v = new TensorVector();
        params.forEach(p -> v.push_back(p.tensor()));
        return v;
    }

    /** Divides every gradient by {@code scale} (the fp16 loss scale), in place. */
    public void unscale(double scale) {
        if (scale == 1.0) {
            return;
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            for (Param p : params) {
                Tensor grad = p.tensor().grad();
                if (grad.defined()) {
                    grad.mul_(new Scalar(1.0 / scale));
                }
            }
        }
    }

    public void zeroGrad() {
        try (PointerScope scope = new PointerScope()) {
            for (Param p : params) {
                Tensor grad = p.tensor().grad();
                if (grad.defined()) {
                    grad.zero_();
                }
            }
        }
    }

    /** Writes the tensors as float32 safetensors (the trained state a resume reads back). */
    public void write(Path file) {
        SafetensorsWriter w = new SafetensorsWriter();
        for (Param p : params) {
            w.addRaw(p.name(), DType.F32, () -> TensorIO.bytes(p.tensor(), DType.F32), p.tensor().sizes().vec().get());
        }
        w.write(file);
    }

    /** Copies the tensors of {@code file} (written by {@link #write}) into the parameters; names and shapes must match. */
    public void read(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file); NoGradGuard g = new NoGradGuard()) {
            Map<String, TensorInfo> stored = f.tensors();
            for (Param p : params) {
                TensorInfo t = stored.get(p.name());
                long[] shape = p.tensor().sizes().vec().get();
                if (t == null || !Arrays.equals(t.shape(), shape)) {
                    throw new IllegalArgumentException(file + ": tensor '" + p.name() + "' " + (t == null ? "is missing"
                            : "has shape " + t.shapeString() + ", the run trains " + Arrays.toString(shape)));
                }
                try (Tensor v = TensorIO.read(t, ScalarType.Float)) {
                    p.tensor().copy_(v);
                }
            }
        }
    }
}
