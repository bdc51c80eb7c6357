package io.qwenserve.engine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.SafetensorsWriter;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.GptqConfig;
import io.qwenserve.engine.model.TorchRuntime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * {@code bin/qwen merge-lora}: writes base + adapter as one plain checkpoint, {@code W' = W + scale * B A} for every
 * adapted linear (computed in float32, stored in the base tensor's dtype); every other tensor is copied unchanged.
 * A GPTQ Int4 base is written dequantized (in the dtype of its scales) with the merge applied, since the merged weights
 * are no longer on the int4 grid; its quantization config is dropped. Tensors are produced one at a time.
 */
public final class LoraMerger {
    private LoraMerger() {}

    /** Returns the number of linears merged. */
    public static int merge(Path model, Path adapterDir, Path out) {
        TorchRuntime.init();
        ModelConfig cfg = ModelConfig.load(model);
        GptqConfig gptq = GptqConfig.load(model);
        if (out.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out must differ from --model");
        }
        try (PeftAdapter adapter = PeftAdapter.read(adapterDir, cfg); Checkpoint ckpt = Checkpoint.open(model)) {
            ModelFolder.removeWeights(out);
            ModelFolder.copyNonWeights(model, out, List.of(GptqConfig.FILE));
            if (gptq != null) {
                dropQuantizationConfig(out.resolve("config.json"));
            }
            Map<String, LoraPair> pairs = adapter.pairs();
            SafetensorsWriter w = new SafetensorsWriter();
            for (TensorInfo t : ckpt.tensors().values()) {
                String name = t.name();
                if (name.endsWith(".qweight")) {
                    String prefix = name.substring(0, name.length() - ".qweight".length());
                    TensorInfo scales = ckpt.find(prefix + ".scales").orElseThrow(() -> new io.qwenserve.engine.checkpoint
                            .CheckpointException(t.where() + ": no '" + prefix + ".scales' beside it"));
                    long in = t.shape()[0] * 8;
                    long outF = t.shape()[1];
                    w.addRaw(prefix + ".weight", scales.dtype(), () -> dequantized(ckpt, prefix, in, outF, gptq, pairs.get(prefix),
                            scales.dtype()), outF, in);
                } else if (name.endsWith(".qzeros") || name.endsWith(".scales") || name.endsWith(".g_idx")) {
                    continue; // part of a GPTQ linear, written above
                } else if (name.endsWith(".weight") && pairs.containsKey(name.substring(0, name.length() - 7))) {
                    LoraPair p = pairs.get(name.substring(0, name.length() - 7));
                    w.addRaw(name, t.dtype(), () -> merged(TensorIO.read(t, ScalarType.Float), p, t.dtype()), t.shape());
                } else {
                    w.addRaw(name, t.dtype(), () -> raw(t), t.shape());
                }
            }
            w.write(out.resolve(Checkpoint.SINGLE));
            return pairs.size();
        }
    }

    private static byte[] dequantized(Checkpoint ckpt, String prefix, long in, long out, GptqConfig gptq, LoraPair pair,
                                      DType dtype) {
        int g = gptq.groupSize() <= 0 ? (int) in : gptq.groupSize();
        try (Tensor qweight = TensorIO.read(ckpt.require(prefix + ".qweight", in / 8, out));
             Tensor qzeros = TensorIO.read(ckpt.find(prefix + ".qzeros").orElseThrow());
             Tensor scales = TensorIO.read(ckpt.find(prefix + ".scales").orElseThrow());
             Tensor gIdx = ckpt.find(prefix + ".g_idx").isPresent() ? TensorIO.read(ckpt.find(prefix + ".g_idx").get()) : null) {
            FrozenInt4 int4 = new FrozenInt4(prefix, qweight, qzeros, scales, gIdx, in, out, g);
            Tensor w = int4.dequantize(ScalarType.Float);
            return pair == null ? bytesAndClose(w, dtype) : merged(w, pair, dtype);
        }
    }

    private static byte[] merged(Tensor w, LoraPair p, DType dtype) {
        try (Tensor delta = p.delta()) {
            w.add_(delta);
            return bytesAndClose(w, dtype);
        }
    }

    private static byte[] bytesAndClose(Tensor t, DType dtype) {
        try (t) {
            return TensorIO.bytes(t, dtype);
        }
    }

    private static byte[] raw(TensorInfo t) {
        try (Tensor v = TensorIO.read(t)) {
            return TensorIO.bytes(v, t.dtype());
        }
    }

    private static void dropQuantizationConfig(Path config) {
        try {
            ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode c = (ObjectNode) om.readTree(config.toFile());
            c.remove("quantization_config");
            om.writeValue(config.toFile(), c);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite " + config, e);
        }
    }
}
