package io.qwenserve.engine.model;

import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.checkpoint.CheckpointException;
import io.qwenserve.engine.checkpoint.TensorInfo;
import java.io.PrintStream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Copies checkpoint tensors from memory-mapped safetensors windows straight into libtorch tensors of the compute dtype
 * on the device of its layer, reporting progress for large models. Nothing passes through the Java heap.
 */
final class WeightLoader {
    private static final long PROGRESS_THRESHOLD = 256L << 20;

    private final Precision precision;
    private final long totalBytes;
    private final PrintStream progressOut;
    private long loadedBytes;
    private int lastPercent = -1;
    private final boolean terminal = System.console() != null;
    private final long startNanos = System.nanoTime();

    WeightLoader(Checkpoint checkpoint, Precision precision, PrintStream progressOut) {
        this.precision = precision;
        this.totalBytes = checkpoint.totalBytes();
        this.progressOut = totalBytes >= PROGRESS_THRESHOLD ? progressOut : null;
    }

    /** The tensor in the compute dtype on {@code device}. */
    Tensor load(TensorInfo t, Device device) {
        Tensor host = loadHost(t);
        if (host.scalar_type().intern() == precision.scalarType() && device.is_cpu()) {
            return host;
        }
        Tensor converted = host.to(device, precision.scalarType());
        host.close();
        return converted;
    }

    /** The tensor as stored (F32, BF16, F16 or I32), on the CPU. */
    Tensor loadHost(TensorInfo t) {
        ScalarType stored = switch (t.dtype()) {
            case F32 -> ScalarType.Float;
            case BF16 -> ScalarType.BFloat16;
            case F16 -> ScalarType.Half;
            case I32 -> ScalarType.Int;
            default -> throw new CheckpointException(t.where() + ": dtype " + t.dtype() + " is not a weight type (F32, BF16, F16, I32)");
        };
        Tensor host = torch.empty(t.shape(), Torch.options(stored, new Device(torch.DeviceType.CPU)), null);
        try (Tensor flat = host.view(-1)) {
            int size = t.dtype().size();
            Checkpoint.forEachWindow(t, (window, byteOffset) -> {
                long n = window.remaining() / size;
                try (BytePointer p = new BytePointer(window);
                     Tensor src = torch.from_blob(p, new long[] {n}, Torch.options(stored, new Device(torch.DeviceType.CPU)));
                     Tensor dst = flat.narrow(0, byteOffset / size, n)) {
                    dst.copy_(src);
                }
            });
        }
        advance(t.byteLength());
        return host;
    }


    /** Ends the progress line. */
    void finish() {
        if (progressOut != null && terminal && lastPercent >= 0 && loadedBytes < totalBytes) {
            progressOut.println();
        }
    }

    private void advance(long bytes) {
        loadedBytes += bytes;
        if (progressOut == null) {
            return;
        }
        int percent = (int) (100 * loadedBytes / Math.max(1, totalBytes));
        // redraw in place on a terminal; in logs, one line per quarter
        if (percent == lastPercent || (!terminal && percent / 25 == lastPercent / 25 && lastPercent >= 0)) {
            return;
        }
        lastPercent = percent;
        int width = 40;
        int filled = percent * width / 100;
        double secs = (System.nanoTime() - startNanos) / 1e9;
        progressOut.printf("%sloading weights [%s%s] %3d%% %,d/%,d MiB %.1fs%s", terminal ? "\r" : "", "#".repeat(filled),
                " ".repeat(width - filled), percent, loadedBytes >> 20, totalBytes >> 20, secs, terminal ? "" : "\n");
        if (terminal && loadedBytes >= totalBytes) {
            progressOut.println();
        }
        progressOut.flush();
    }
}
