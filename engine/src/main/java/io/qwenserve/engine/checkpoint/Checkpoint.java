package io.qwenserve.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The safetensors files of one model folder: a single {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}. Every lookup error names the file and the tensor.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String INDEX = "model.safetensors.index.json";
    public static final String SINGLE = "model.safetensors";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, TensorInfo> tensors;

    private Checkpoint(Path dir, List<SafetensorsFile> files, Map<String, TensorInfo> tensors) {
        this.dir = dir;
        this.files = files;
        this.tensors = tensors;
    }

    public static Checkpoint open(Path dir) {
        Path index = dir.resolve(INDEX);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(index)) {
                JsonNode weightMap;
                try {
                    weightMap = new ObjectMapper().readTree(index.toFile()).path("weight_map");
                } catch (IOException e) {
                    throw new CheckpointException(index + ": not valid JSON: " + e.getMessage(), e);
                }
                if (!weightMap.isObject() || weightMap.isEmpty()) {
                    throw new CheckpointException(index + ": bad index: no \"weight_map\" object");
                }
                Map<String, SafetensorsFile> byName = new TreeMap<>();
                for (var it = weightMap.fields(); it.hasNext(); ) {
                    var e = it.next();
                    String shard = e.getValue().asText();
                    SafetensorsFile f = byName.get(shard);
                    if (f == null) {
                        Path p = dir.resolve(shard);
                        if (!Files.isRegularFile(p)) {
                            throw new CheckpointException(index + ": shard '" + shard + "' (holding tensor '" + e.getKey()
                                    + "') does not exist");
                        }
                        f = SafetensorsFile.open(p);
                        byName.put(shard, f);
                        files.add(f);
                    }
                    TensorInfo t = f.tensors().get(e.getKey());
                    if (t == null) {
                        throw new CheckpointException(f.path() + ": missing tensor '" + e.getKey() + "' (listed in " + INDEX + ")");
                    }
                    tensors.put(e.getKey(), t);
                }
            } else {
                Path single = dir.resolve(SINGLE);
                if (!Files.isRegularFile(single)) {
                    try (Stream<Path> s = Files.list(dir)) {
                        single = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().findFirst()
                                .orElseThrow(() -> new CheckpointException(dir + ": no " + SINGLE + " and no " + INDEX));
                    } catch (IOException e) {
                        throw new CheckpointException(dir + ": cannot list: " + e.getMessage(), e);
                    }
                }
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                tensors.putAll(f.tensors());
            }
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new Checkpoint(dir, files, tensors);
    }

    public Path dir() {
        return dir;
    }

    public Map<String, TensorInfo> tensors() {
        return java.util.Collections.unmodifiableMap(tensors);
    }

    public Optional<TensorInfo> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor, which must exist and have exactly {@code shape}. */
    public TensorInfo require(String name, long... shape) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            String where = files.size() == 1 ? files.get(0).path().toString() : dir + " (" + files.size() + " shards)";
            throw new CheckpointException(where + ": missing tensor '" + name + "'");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new CheckpointException(t.where() + ": wrong shape " + t.shapeString() + ", expected "
                    + Arrays.toString(shape) + " from config.json");
        }
        return t;
    }

    /** The tensor, which must exist, have {@code shape} and be stored as a floating-point type. */
    public TensorInfo requireFloat(String name, long... shape) {
        TensorInfo t = require(name, shape);
        if (!t.dtype().isFloatingPoint() || t.dtype() == DType.F64) {
            throw new CheckpointException(t.where() + ": dtype " + t.dtype() + " is not a supported weight type (F32, BF16, F16)");
        }
        return t;
    }

    /** Total bytes of tensor data, for progress reporting. */
    public long totalBytes() {
        return tensors.values().stream().mapToLong(TensorInfo::byteLength).sum();
    }

    /** Receives consecutive windows of a tensor's bytes; {@code byteOffset} is from the start of the tensor. */
    @FunctionalInterface
    public interface WindowConsumer {
        void accept(ByteBuffer window, long byteOffset);
    }

    /**
     * Streams a tensor's bytes as mapped windows (no heap copy). Each window is unmapped as soon as the consumer
     * returns, so loaded files do not stay resident; the consumer must not keep the buffer.
     */
    public static void forEachWindow(TensorInfo t, WindowConsumer consumer) {
        long step = SafetensorsFile.MAX_WINDOW - SafetensorsFile.MAX_WINDOW % 8;
        for (long off = 0; off < t.byteLength(); off += step) {
            long len = Math.min(step, t.byteLength() - off);
            ByteBuffer window = t.file().map(t, off, len);
            try {
                consumer.accept(window, off);
            } finally {
                Unmapper.unmap(window);
            }
        }
    }

    /** Reads a floating-point tensor into a float array (tests and small tensors only). */
    public static float[] readFloats(TensorInfo t) {
        if (t.numel() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(t.where() + ": too large for a float array");
        }
        float[] out = new float[(int) t.numel()];
        forEachWindow(t, (buf, off) -> {
            int base = (int) (off / t.dtype().size());
            int n = buf.remaining() / t.dtype().size();
            switch (t.dtype()) {
                case F32 -> buf.asFloatBuffer().get(out, base, n);
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        out[base + i] = DType.bf16ToFloat(buf.getShort(i * 2));
                    }
                }
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        out[base + i] = DType.halfToFloat(buf.getShort(i * 2));
                    }
                }
                default -> throw new CheckpointException(t.where() + ": dtype " + t.dtype() + " is not a float type");
            }
        });
        return out;
    }

    /** Reads an I32 tensor into an int array. */
    public static int[] readInts(TensorInfo t) {
        if (t.dtype() != DType.I32) {
            throw new CheckpointException(t.where() + ": dtype " + t.dtype() + ", expected I32");
        }
        int[] out = new int[(int) t.numel()];
        forEachWindow(t, (buf, off) -> buf.asIntBuffer().get(out, (int) (off / 4), buf.remaining() / 4));
        return out;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
