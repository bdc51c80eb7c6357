package io.qwenserve.engine.train;

import io.qwenserve.engine.model.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** The trainable model's logits at every position of one prompt (no dropout, no graph). */
final class TrainEval {
    private TrainEval() {}

    static float[][] logits(TrainModel m, int[] prompt) {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Tensor ids = Torch.longs(prompt, m.device()).view(1, prompt.length);
            Tensor[] rope = m.ropeTables(prompt.length);
            Tensor x = m.embed(ids);
            for (int i = 0; i < m.numLayers(); i++) {
                x = m.layer(i, x, rope, false);
            }
            Tensor logits = m.logits(x, null);
            float[] flat = Torch.toFloats(logits);
            int v = (int) logits.size(1);
            float[][] rows = new float[prompt.length][];
            for (int t = 0; t < prompt.length; t++) {
                rows[t] = java.util.Arrays.copyOfRange(flat, t * v, (t + 1) * v);
            }
            return rows;
        }
    }

    static double maxAbsDiff(float[][] a, float[][] b) {
        double worst = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                worst = Math.max(worst, Math.abs((double) a[t][v] - b[t][v]));
            }
        }
        return worst;
    }

    static double maxAbsDiff(float[][] a, double[][] b) {
        double worst = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                worst = Math.max(worst, Math.abs(a[t][v] - b[t][v]));
            }
        }
        return worst;
    }
}
