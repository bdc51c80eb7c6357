package io.qwenserve.engine.bench;

import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.model.Torch;
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
        return time(model, batch, reps, linears.stream().mapToLong(Linear::inFeatures).toArray(), (i, x) -> linears.get(i).apply(x));
    }

    /**
     * Median time of {@code reps} passes (after two untimed ones) over {@code inFeatures.length} layers, layer i applied
     * by {@code layer} to random activations of [batch, inFeatures[i]] in the model's dtype on that linear's device.
     */
    static Result time(QwenModel model, int batch, int reps, long[] inFeatures, java.util.function.BiFunction<Integer, Tensor, Tensor> layer) {
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            Tensor[] inputs = new Tensor[inFeatures.length];
            for (int i = 0; i < inputs.length; i++) {
                inputs[i] = torch.randn(new long[] {batch, inFeatures[i]},
                        Torch.options(model.precision().scalarType(), model.deviceOfLinear(i)));
            }
            double[] times = new double[reps];
            for (int r = -2; r < reps; r++) {
                long t0 = System.nanoTime();
                try (PointerScope step = new PointerScope()) {
                    Tensor last = null;
                    for (int i = 0; i < inputs.length; i++) {
                        last = layer.apply(i, inputs[i]);
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
