package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsFile;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import io.qwenserve.engine.checkpoint.TensorInfo;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * AdamW with decoupled weight decay, the update of {@code torch.optim.AdamW} (and libtorch's {@code AdamW}):
 * <pre>
 *   p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 * applied in slices of at most {@link #SLICE} values, all in place. libtorch's optimizer makes whole-tensor temporaries
 * for the denominator; for a 152k-row embedding those are tens to hundreds of MiB that glibc maps and the kernel
 * zero-fills on every step. State (m, v per parameter, the step count) is saved as safetensors.
 */
public final class SlicedAdamW {
    static final long SLICE = 1L << 20;

    private final List<TrainableParams.Param> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Tensor[] expAvg;
    private final Tensor[] expAvgSq;
    private long step;

    public SlicedAdamW(TrainableParams params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = params.list();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.expAvg = new Tensor[this.params.size()];
        this.expAvgSq = new Tensor[this.params.size()];
        for (int i = 0; i < expAvg.length; i++) {
            Tensor p = this.params.get(i).tensor();
            expAvg[i] = torch.zeros_like(p);
            expAvgSq[i] = torch.zeros_like(p);
        }
    }

    /** Optimizer steps taken. */
    public long steps() {
        return step;
    }

    /** One update of every parameter with a gradient; weight decay only where the parameter takes it. */
    public void step(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                TrainableParams.Param p = params.get(i);
                try (PointerScope scope = new PointerScope()) {
                    Tensor grad = p.tensor().grad();
                    if (!grad.defined()) {
                        continue;
                    }
                    Tensor w = flat(p.tensor());
                    Tensor g = flat(grad);
                    Tensor m = expAvg[i].view(-1);
                    Tensor v = expAvgSq[i].view(-1);
                    double decay = p.decay() ? 1 - lr * weightDecay : 1;
                    long n = w.numel();
                    for (long off = 0; off < n; off += SLICE) {
                        try (PointerScope slice = new PointerScope()) {
                            long len = Math.min(SLICE, n - off);
                            update(w.narrow(0, off, len), g.narrow(0, off, len), m.narrow(0, off, len), v.narrow(0, off, len),
                                    decay, lr / bc1, bc2Sqrt);
                        }
                    }
                }
            }
        }
    }

    private void update(Tensor w, Tensor g, Tensor m, Tensor v, double decay, double stepSize, double bc2Sqrt) {
        if (decay != 1) {
            w.mul_(new Scalar(decay));
        }
        m.mul_(new Scalar(beta1)).add_(g, new Scalar(1 - beta1));
        v.mul_(new Scalar(beta2)).addcmul_(g, g, new Scalar(1 - beta2));
        Tensor denom = v.sqrt().div_(new Scalar(bc2Sqrt)).add_(new Scalar(eps));
        w.addcdiv_(m, denom, new Scalar(-stepSize));
    }

    private static Tensor flat(Tensor t) {
        if (!t.is_contiguous()) {
            throw new IllegalStateException("AdamW needs contiguous parameters and gradients");
        }
        return t.view(-1);
    }

    /** Writes m and v of every parameter (as {@code NAME.exp_avg}, {@code NAME.exp_avg_sq}) and the step count. */
    public void save(Path file) {
        SafetensorsWriter w = new SafetensorsWriter();
        w.addInts("step", new int[] {(int) step}, 1);
        for (int i = 0; i < params.size(); i++) {
            Tensor m = expAvg[i];
            Tensor v = expAvgSq[i];
            long[] shape = m.sizes().vec().get();
            w.addRaw(params.get(i).name() + ".exp_avg", DType.F32, () -> TensorIO.bytes(m, DType.F32), shape);
            w.addRaw(params.get(i).name() + ".exp_avg_sq", DType.F32, () -> TensorIO.bytes(v, DType.F32), shape);
        }
        w.write(file);
    }

    /** Reads what {@link #save} wrote; names and shapes must match this run's parameters. */
    public void load(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file); NoGradGuard noGrad = new NoGradGuard()) {
            Map<String, TensorInfo> stored = f.tensors();
            TensorInfo s = stored.get("step");
            if (s == null) {
                throw new IllegalArgumentException(file + ": no 'step'");
            }
            try (Tensor t = TensorIO.read(s)) {
                step = t.item_int();
            }
            for (int i = 0; i < params.size(); i++) {
                copy(file, stored, params.get(i).name() + ".exp_avg", expAvg[i]);
                copy(file, stored, params.get(i).name() + ".exp_avg_sq", expAvgSq[i]);
            }
        }
    }

    private static void copy(Path file, Map<String, TensorInfo> stored, String name, Tensor into) {
        TensorInfo t = stored.get(name);
        long[] shape = into.sizes().vec().get();
        if (t == null || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' " + (t == null ? "is missing"
                    : "has shape " + t.shapeString() + ", expected " + Arrays.toString(shape)));
        }
        try (Tensor v = TensorIO.read(t, ScalarType.Float)) {
            into.copy_(v);
        }
    }
}
