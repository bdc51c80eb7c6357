package io.qwenserve.engine.train;

import io.qwenserve.engine.model.GptqWeight;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A GPTQ Int4 linear kept as the checkpoint stores it (AutoGPTQ v1 packing: eight 4-bit weights per int32), frozen.
 * {@link #dequantize} unpacks it into a float [out, in] weight for one use: the trainer's forward and backward of a
 * layer dequantize that layer's linears transiently and drop them when the layer is done, so at most one layer's
 * float weights exist at a time.
 *
 * @param qweight int32 [in/8, out]
 * @param qzeros  int32 [groups, out/8], zero points stored minus one
 * @param scales  float [groups, out], as stored
 * @param gIdx    int32 [in] or null (sequential groups)
 */
public record FrozenInt4(String name, Tensor qweight, Tensor qzeros, Tensor scales, Tensor gIdx, long in, long out,
                         int groupSize) implements AutoCloseable {

    /** The float [out, in] weight, {@code scale * (q - zero)}, in {@code type}; the caller closes it. */
    public Tensor dequantize(ScalarType type) {
        try (GptqWeight w = GptqWeight.unpack(name, qweight, qzeros, scales, gIdx, in, out, groupSize)) {
            return w.dequantize(type);
        }
    }

    /** Bytes held: the packed form (4 bits a weight) plus scales and zero points. */
    public long bytes() {
        return qweight.nbytes() + qzeros.nbytes() + scales.nbytes() + (gIdx != null ? gIdx.nbytes() : 0);
    }

    @Override
    public void close() {
        qweight.close();
        qzeros.close();
        scales.close();
        if (gIdx != null) {
            gIdx.close();
        }
    }
}
