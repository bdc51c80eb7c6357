package io.qwenserve.engine.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Writes one {@code .safetensors} file the way the reference writer does: header padded with spaces to a multiple of
 * 8, tensors in insertion order, {@code data_offsets} relative to the data buffer. Tensor contents are produced
 * lazily while writing, so a large random checkpoint never sits in memory whole.
 */
public final class SafetensorsWriter {
    private record Entry(String name, DType dtype, long[] shape, Supplier<byte[]> data) {
        long bytes() {
            long n = dtype.size();
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final List<Entry> entries = new ArrayList<>();

    /** Adds floats stored as {@code dtype} (F32, BF16 or F16), computed when the file is written. */
    public SafetensorsWriter addFloats(String name, DType dtype, Supplier<float[]> values, long... shape) {
        return addRaw(name, dtype, () -> encodeFloats(dtype, values.get()), shape);
    }

    public SafetensorsWriter addFloats(String name, DType dtype, float[] values, long... shape) {
        return addFloats(name, dtype, () -> values, shape);
    }

    public SafetensorsWriter addInts(String name, int[] values, long... shape) {
        return addRaw(name, DType.I32, () -> {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : values) {
                b.putInt(v);
            }
            return b.array();
        }, shape);
    }

    public SafetensorsWriter addRaw(String name, DType dtype, Supplier<byte[]> data, long... shape) {
        entries.add(new Entry(name, dtype, shape.clone(), data));
        return this;
    }

    public List<String> names() {
        return entries.stream().map(Entry::name).toList();
    }

    public long dataBytes() {
        return entries.stream().mapToLong(Entry::bytes).sum();
    }

    public static byte[] encodeFloats(DType dtype, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> b.asFloatBuffer().put(values);
            case BF16 -> {
                for (float v : values) {
                    b.putShort(DType.floatToBf16(v));
                }
            }
            case F16 -> {
                for (float v : values) {
                    b.putShort(DType.floatToHalf(v));
                }
            }
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
        return b.array();
    }

    public void write(Path file) {
        ObjectNode header = new ObjectMapper().createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long off = 0;
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name);
            t.put("dtype", e.dtype.name());
            var shape = t.putArray("shape");
            for (long d : e.shape) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(off).add(off + e.bytes());
            off += e.bytes();
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            for (Entry e : entries) {
                byte[] data = e.data.get();
                if (data.length != e.bytes()) {
                    throw new IllegalStateException("tensor '" + e.name + "': " + data.length + " bytes, expected " + e.bytes());
                }
                out.write(data);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
