package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a fully finetuned model as a checkpoint folder the engine (and Hugging Face) loads: the base folder's config,
 * generation config and tokenizer files, and one {@code model.safetensors} holding every tensor under its original name,
 * each stored in the dtype the base checkpoint stored it in.
 */
public final class FullCheckpointWriter {
    private FullCheckpointWriter() {}

    public static void write(Path base, TrainableParams params, Path out) {
        ModelFolder.removeWeights(out);
        ModelFolder.copyNonWeights(base, out, List.of());
        SafetensorsWriter w = new SafetensorsWriter();
        try (Checkpoint ckpt = Checkpoint.open(base)) {
            for (TrainableParams.Param p : params.list()) {
                DType stored = ckpt.find(p.name()).map(t -> t.dtype()).orElse(DType.F32);
                w.addRaw(p.name(), stored, () -> TensorIO.bytes(p.tensor(), stored), p.tensor().sizes().vec().get());
            }
        }
        w.write(out.resolve(Checkpoint.SINGLE));
    }
}
