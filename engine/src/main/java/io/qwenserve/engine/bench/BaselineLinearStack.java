package io.qwenserve.engine.bench;

import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.model.Torch;
import java.util.List;
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
                        Torch.options(model.precision().scalarType(), model.deviceOfLinear(i)))) {
                    weights[i] = r.sub(new Scalar(0.5)).mul(new Scalar(0.06));
                }
            }
        }
    }

    /** Median tokens/s of one pass over every linear at {@code batch} rows. */
    public LinearStackBench.Result run(int batch, int reps) {
        long[] in = new long[weights.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = weights[i].size(1);
        }
        return LinearStackBench.time(model, batch, reps, in, (i, x) -> torch.linear(x, weights[i]));
    }

    @Override
    public void close() {
        for (Tensor w : weights) {
            w.close();
        }
    }
}
