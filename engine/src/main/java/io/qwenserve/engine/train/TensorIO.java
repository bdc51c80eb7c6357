package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.CheckpointException;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.TensorInfo;
import io.qwenserve.engine.model.Torch;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Safetensors entries to libtorch tensors and back, on the CPU. Callers own (and close) what they get. */
public final class TensorIO {
    private static final Device CPU = new Device(torch.DeviceType.CPU);

    private TensorIO() {}

    public static ScalarType scalarType(DType d) {
        return switch (d) {
            case F32 -> ScalarType.Float;
            case BF16 -> ScalarType.BFloat16;
            case F16 -> ScalarType.Half;
            case I32 -> ScalarType.Int;
            default -> throw new IllegalArgumentException("dtype " + d + " is not a weight type (F32, BF16, F16, I32)");
        };
    }

    public static DType dtype(ScalarType t) {
        return switch (t) {
            case Float -> DType.F32;
            case BFloat16 -> DType.BF16;
            case Half -> DType.F16;
            case Int -> DType.I32;
            default -> throw new IllegalArgumentException("no safetensors dtype for " + t);
        };
    }

    /**
     * Whether two scalar types are the same. Compare by value: a {@code ScalarType} a tensor returns is not always the
     * enum's own constant (JavaCPP makes a fresh object), so {@code ==} can say false for equal types.
     */
    public static boolean sameType(ScalarType a, ScalarType b) {
        return a.value == b.value;
    }

    /** The tensor as stored, copied window by window from the mapped file. */
    public static Tensor read(TensorInfo t) {
        ScalarType stored;
        try {
            stored = scalarType(t.dtype());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(t.where() + ": " + e.getMessage());
        }
        Tensor host = torch.empty(t.shape(), Torch.options(stored, CPU), null);
        try (Tensor flat = host.view(-1)) {
            int size = t.dtype().size();
            Checkpoint.forEachWindow(t, (window, byteOffset) -> {
                long n = window.remaining() / size;
                try (BytePointer p = new BytePointer(window);
                     Tensor src = torch.from_blob(p, new long[] {n}, Torch.options(stored, CPU));
                     Tensor dst = flat.narrow(0, byteOffset / size, n)) {
                    dst.copy_(src);
                }
            });
        }
        return host;
    }

    /** The tensor in {@code type} (a float tensor of the checkpoint, converted). */
    public static Tensor read(TensorInfo t, ScalarType type) {
        Tensor host = read(t);
        if (sameType(host.scalar_type(), type)) {
            return host;
        }
        Tensor converted = host.to(type);
        host.close();
        return converted;
    }

    /** The little-endian bytes of {@code t} stored as {@code dtype} (the safetensors data of one entry). */
    public static byte[] bytes(Tensor t, DType dtype) {
        try (Tensor c = t.detach().to(CPU, scalarType(dtype)).contiguous()) {
            long n = c.nbytes();
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("tensor of " + n + " bytes is too large to write in one piece");
            }
            byte[] out = new byte[(int) n];
            new BytePointer(c.data_ptr()).capacity(n).get(out);
            return out;
        }
    }
}
