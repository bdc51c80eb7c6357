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
            return Torch.rows(m.logits(x, null));
        }
    }
}
