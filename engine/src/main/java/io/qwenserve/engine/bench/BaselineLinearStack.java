package io.qwenserve.engine.bench;

import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.model.Torch;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The baseline a kernel choice is judged against: the model's stack of linear layers and output head as plain
 * {@code torch.linear} calls on unpacked [out, in] weights of the model's compute dtype (random values, same shapes),
 * timed in the same process as the model. Holds its own weights (one extra copy of the linears) until closed.
 */
public final class BaselineLinearStack implements AutoCloseable {
    private final QwenModel model;
    private final Tensor[] weights;

    public BaselineLinearStack(QwenModel model) {
        this.model = model;
        List<Linear> linears = model.linears();
        weights = new Tensor[linears.size()];
        try (InferenceMode ignored = new InferenceMode()) {
            for (int i = 0; i < weights.length; i++) {
                Linear l = linears.get(i);
                try (Tensor r = torch.rand(new long[] {l.outFeatures(), l.inFeatures()},
                        Torch.options(model.precision().scalarType(), model.device()))) {
                    weights[i] = r.sub(new Scalar(0.5)).mul(new Scalar(0.06));
                }
            }
        }
    }

    /** Median tokens/s of one pass over every linear at {@code batch} rows. */
    public LinearStackBench.Result run(int batch, int reps) {
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            Tensor[] inputs = new Tensor[weights.length];
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = torch.randn(new long[] {batch, weights[i].size(1)},
                        Torch.options(model.precision().scalarType(), model.device()));
            }
            double[] times = new double[reps];
            for (int r = -2; r < reps; r++) {
                long t0 = System.nanoTime();
                try (PointerScope step = new PointerScope()) {
                    Tensor last = null;
                    for (int i = 0; i < inputs.length; i++) {
                        last = torch.linear(inputs[i], weights[i]);
                    }
                    last.view(-1).get(0).item_float(); // waits for the device
                }
                if (r >= 0) {
                    times[r] = (System.nanoTime() - t0) / 1e9;
                }
            }
            Arrays.sort(times);
            return new LinearStackBench.Result(batch, times[reps / 2]);
        }
    }

    @Override
    public void close() {
        for (Tensor w : weights) {
            w.close();
        }
    }
}
