package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One step's host inputs in one buffer, copied to each device the step runs on once: the forward pass's indices,
 * masks and scales ({@link StepInputs}) and the sampler's parameters, penalties and draws. Sections of {@code long},
 * {@code float} and {@code double} values are appended (each 8-byte aligned; the arrays are kept, not copied) and
 * written once, straight into the host tensor, at {@link #upload}; then they are read back as views of the one device
 * tensor. On CUDA the host side is pinned memory and the copy does not block the host.
 *
 * <pre>
 *   int a = buf.put(longs); int b = buf.put(floats); ...   host side, while the step is planned
 *   buf.upload(device);                                     one copy per device
 *   Tensor t = buf.longs(device, a, n);                     views, no copy
 * </pre>
 *
 * Tensors it makes belong to the {@code PointerScope} open at the time (the step's).
 */
public final class StepBuffer {
    private final List<Object> arrays = new ArrayList<>(); // long[], float[] or double[], read at the first upload
    private final List<int[]> sections = new ArrayList<>(); // byte offset, values
    private int size;
    private Tensor host; // the sections written out, after the first upload
    private boolean hostPinned;
    private final List<Tensor> uploaded = new ArrayList<>(); // per device, in upload order
    private final List<String> devices = new ArrayList<>();

    /** Appends {@code values} as a section; returns its byte offset. */
    public int put(long[] values) {
        return put(values, values.length);
    }

    /**
     * Appends the first {@code n} of {@code values}, read at the first {@link #upload} (not copied here: the caller
     * leaves them unchanged until then); returns the section's byte offset.
     */
    public int put(long[] values, int n) {
        return section(values, n, 8);
    }

    public int put(float[] values) {
        return section(values, values.length, 4);
    }

    public int put(double[] values) {
        return section(values, values.length, 8);
    }

    private int section(Object values, int n, int width) {
        if (host != null) {
            throw new IllegalStateException("step inputs already uploaded");
        }
        int at = size;
        long end = at + ((width * (long) n + 7) & ~7L); // every section 8-byte aligned
        if (end > Integer.MAX_VALUE) {
            throw new IllegalStateException("step inputs of " + end + " bytes");
        }
        arrays.add(values);
        sections.add(new int[] {at, n});
        size = (int) end;
        return at;
    }

    /** Bytes appended so far. */
    public int size() {
        return size;
    }

    /**
     * Copies the buffer to {@code device} (once per device; a second call for the same device does nothing). The
     * sections are written straight into one host tensor (pinned on CUDA), which on the CPU is itself the step's
     * tensor.
     */
    public void upload(Device device) {
        upload(device, size);
    }

    /**
     * Copies the sections that start before byte {@code bytes} (an offset {@link #put} returned, or {@link #size()}) to
     * {@code device}, once per device: what a device that reads only the first sections needs.
     */
    public void upload(Device device, int bytes) {
        if (index(device) >= 0) {
            return;
        }
        boolean pinned = device.is_cuda();
        if (host == null || hostPinned != pinned) {
            host = fill(pinned);
            hostPinned = pinned;
        }
        Tensor part = bytes >= size ? host : host.narrow(0, 0, Math.max(8, bytes));
        Tensor on = device.is_cpu() ? part
                : part.to(device, ScalarType.Byte, true, false, new org.bytedeco.pytorch.MemoryFormatOptional());
        Transfers.countToDevice();
        uploaded.add(on);
        devices.add(device.str().getString());
    }

    private Tensor fill(boolean pinned) {
        Tensor t = torch.empty(new long[] {Math.max(8, size)}, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Byte))
                .device(new DeviceOptional(new Device(torch.DeviceType.CPU))).pinned_memory(new BoolOptional(pinned)), null);
        Pointer base = t.data_ptr();
        for (int i = 0; i < arrays.size(); i++) {
            int at = sections.get(i)[0];
            int n = sections.get(i)[1];
            Object a = arrays.get(i);
            if (a instanceof long[] l) {
                new LongPointer(base).position(at / 8).put(l, 0, n);
            } else if (a instanceof float[] f) {
                new FloatPointer(base).position(at / 4).put(f, 0, n);
            } else {
                new DoublePointer(base).position(at / 8).put((double[]) a, 0, n);
            }
        }
        return t;
    }

    public Tensor longs(Device device, int offset, long n) {
        return view(device, offset, 8 * n, ScalarType.Long);
    }

    public Tensor floats(Device device, int offset, long n) {
        return view(device, offset, 4 * n, ScalarType.Float);
    }

    public Tensor doubles(Device device, int offset, long n) {
        return view(device, offset, 8 * n, ScalarType.Double);
    }

    private Tensor view(Device device, int offset, long length, ScalarType type) {
        int i = index(device);
        if (i < 0) {
            throw new IllegalStateException("step inputs not uploaded to " + device.str().getString());
        }
        if (offset + length > uploaded.get(i).size(0)) {
            throw new IllegalStateException("step inputs: bytes " + offset + ".." + (offset + length) + " were not uploaded to "
                    + device.str().getString());
        }
        return uploaded.get(i).narrow(0, offset, length).view(type);
    }

    private int index(Device device) {
        String name = device.str().getString();
        for (int i = 0; i < devices.size(); i++) {
            if (devices.get(i).equals(name)) {
                return i;
            }
        }
        return -1;
    }
}
