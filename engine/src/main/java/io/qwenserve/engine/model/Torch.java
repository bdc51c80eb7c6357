package io.qwenserve.engine.model;

import io.qwenserve.engine.cuda.Cuda;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.AbstractTensor;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Small helpers between Java arrays and libtorch tensors. Callers own (and close) what they get. Each copy between
 * Java and a tensor is counted ({@link Transfers}).
 */
public final class Torch {
    private Torch() {}

    /** Parses {@code cpu}, {@code cuda} or {@code cuda:N}, checking that CUDA is there when asked for. */
    public static Device device(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.contains(",")) {
            throw new IllegalArgumentException("'" + spec + "' is a device list; one device is expected here (cpu, cuda or "
                    + "cuda:N; a list splits a served model's layers: README, Several GPUs)");
        }
        if (s.equals("cpu")) {
            return new Device(torch.DeviceType.CPU);
        }
        if (s.equals("cuda") || s.startsWith("cuda:")) {
            if (!torch.cuda_is_available()) {
                throw new IllegalArgumentException("device '" + spec + "' requested but CUDA is not available: "
                        + Cuda.whyUnavailable());
            }
            int index = s.equals("cuda") ? 0 : Integer.parseInt(s.substring(5));
            if (index < 0 || index >= torch.cuda_device_count()) {
                throw new IllegalArgumentException("device '" + spec + "': only " + torch.cuda_device_count() + " CUDA devices");
            }
            return new Device(torch.DeviceType.CUDA, (byte) index);
        }
        throw new IllegalArgumentException("unknown device '" + spec + "' (expected cpu, cuda or cuda:N)");
    }

    public static TensorOptions options(ScalarType type, Device device) {
        return new TensorOptions().dtype(new ScalarTypeOptional(type)).device(new DeviceOptional(device));
    }

    public static Tensor longs(long[] values, Device device) {
        Tensor cpu = AbstractTensor.create(values, values.length);
        return onDevice(cpu, device);
    }

    public static Tensor longs(int[] values, Device device) {
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = values[i];
        }
        return longs(l, device);
    }

    public static Tensor floats(float[] values, Device device, long... shape) {
        return onDevice(AbstractTensor.create(values, shape), device);
    }

    public static Tensor bools(boolean[] values, Device device, long... shape) {
        return onDevice(AbstractTensor.create(values, shape), device);
    }

    private static Tensor onDevice(Tensor cpu, Device device) {
        Transfers.countToDevice();
        if (device.is_cpu()) {
            return cpu;
        }
        Tensor t = cpu.to(device, cpu.scalar_type());
        cpu.close();
        return t;
    }

    /** Copies a tensor of any float type and device into a new float array (row-major). */
    public static float[] toFloats(Tensor t) {
        Transfers.countToHost();
        try (Tensor c = t.to(new Device(torch.DeviceType.CPU), ScalarType.Float).contiguous()) {
            float[] out = new float[(int) c.numel()];
            new FloatPointer(c.data_ptr()).get(out);
            return out;
        }
    }

    /** Copies a [R, V] tensor of any float type and device into R float rows. */
    public static float[][] rows(Tensor t) {
        float[] flat = toFloats(t);
        int v = (int) t.size(1);
        float[][] rows = new float[flat.length / v][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
        }
        return rows;
    }

    /** Copies an integer tensor into a new int array. */
    public static int[] toInts(Tensor t) {
        Transfers.countToHost();
        try (Tensor c = t.to(new Device(torch.DeviceType.CPU), ScalarType.Int).contiguous()) {
            int[] out = new int[(int) c.numel()];
            new IntPointer(c.data_ptr()).get(out);
            return out;
        }
    }

    public static long[] toLongs(Tensor t) {
        Transfers.countToHost();
        try (Tensor c = t.to(new Device(torch.DeviceType.CPU), ScalarType.Long).contiguous()) {
            long[] out = new long[(int) c.numel()];
            new LongPointer(c.data_ptr()).get(out);
            return out;
        }
    }

    public static long[] shape(Tensor t) {
        return t.sizes().vec().get();
    }
}
