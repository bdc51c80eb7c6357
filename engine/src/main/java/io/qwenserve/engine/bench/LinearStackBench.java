package io.qwenserve.engine.bench;

import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.model.QwenModel;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The matmul bound: one step of the model's linear layers and output head alone, with the model's own weights, dtype
 * and kernel, on random activations of a given batch. Nothing else of a step (attention, norms, sampling) runs.
 */
public final class LinearStackBench {
    /** @param stepSeconds median time of one pass over every linear layer */
    public record Result(int batch, double stepSeconds) {
        public double tokensPerSecond() {
            return batch / stepSeconds;
        }
    }

    private LinearStackBench() {}

    public static Result run(QwenModel model, int batch, int reps) {
        List<Linear> linears = model.linears();
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            Tensor[] inputs = new Tensor[linears.size()];
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = torch.randn(new long[] {batch, linears.get(i).inFeatures()},
                        io.qwenserve.engine.model.Torch.options(model.precision().scalarType(), model.device()));
            }
            double[] times = new double[reps];
            for (int r = -2; r < reps; r++) {
                long t0 = System.nanoTime();
                try (PointerScope step = new PointerScope()) {
                    Tensor last = null;
                    for (int i = 0; i < inputs.length; i++) {
                        last = linears.get(i).apply(inputs[i]);
                    }
                    last.view(-1).get(0).item_float(); // waits for the device
                }
                if (r >= 0) {
                    times[r] = (System.nanoTime() - t0) / 1e9;
                }
            }
            Arrays.sort(times);
            return new Result(batch, times[reps / 2]);
        }
    }
}
