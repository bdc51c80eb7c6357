package io.qwenserve.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A memory-mapped reader of one {@code .safetensors} file. The header is parsed and validated at open; tensor data is
 * mapped in windows of at most {@link #MAX_WINDOW} bytes on demand, so nothing is copied onto the Java heap and files
 * (and tensors) larger than 2 GiB work.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest window mapped at once. */
    public static final long MAX_WINDOW = 1L << 30;
    private static final long MAX_HEADER = 100_000_000L;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long fileSize) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.tensors = new LinkedHashMap<>();
        this.metadata = new LinkedHashMap<>();
    }

    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            SafetensorsFile f = new SafetensorsFile(path, ch, ch.size());
            f.readHeader();
            return f;
        } catch (IOException e) {
            closeQuietly(ch);
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private void readHeader() throws IOException {
        if (fileSize < 8) {
            throw new CheckpointException(path + ": bad header: file is " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(lenBuf, 0);
        long n = lenBuf.getLong(0);
        if (n <= 0 || n > MAX_HEADER) {
            throw new CheckpointException(path + ": bad header: header length " + Long.toUnsignedString(n)
                    + " is out of range (1.." + MAX_HEADER + ")");
        }
        if (8 + n > fileSize) {
            throw new CheckpointException(path + ": truncated file: header length " + n + " runs past the end of the "
                    + fileSize + "-byte file");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(hb, 8);
        JsonNode root;
        try {
            // Duplicate names are not allowed (the last one would silently win otherwise).
            root = new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .readTree(new String(hb.array(), StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CheckpointException(path + ": bad header: not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(path + ": bad header: not a JSON object");
        }
        long dataStart = 8 + n;
        long dataEnd = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (v.isObject()) {
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                }
                continue;
            }
            String where = path + ": tensor '" + name + "'";
            if (!v.isObject() || !v.path("dtype").isTextual() || !v.path("shape").isArray()
                    || !v.path("data_offsets").isArray() || v.path("data_offsets").size() != 2) {
                throw new CheckpointException(where + ": bad header: entry needs dtype, shape and data_offsets [begin, end]");
            }
            String dtypeName = v.get("dtype").asText();
            DType dtype = DType.parse(dtypeName);
            if (dtype == null) {
                throw new CheckpointException(where + ": unknown dtype '" + dtypeName + "'");
            }
            long[] shape = new long[v.get("shape").size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = v.get("shape").get(i);
                if (!d.canConvertToLong() || d.asLong() < 0) {
                    throw new CheckpointException(where + ": bad header: shape " + v.get("shape") + " is not a list of sizes");
                }
                shape[i] = d.asLong();
                numel *= shape[i];
            }
            long begin = v.get("data_offsets").get(0).asLong(-1);
            long end = v.get("data_offsets").get(1).asLong(-1);
            if (begin < 0 || end < begin) {
                throw new CheckpointException(where + ": bad header: data_offsets " + v.get("data_offsets") + " are invalid");
            }
            if (end - begin != numel * dtype.size()) {
                throw new CheckpointException(where + ": bad header: data_offsets " + v.get("data_offsets") + " hold "
                        + (end - begin) + " bytes but shape " + v.get("shape") + " of " + dtypeName + " needs "
                        + numel * dtype.size());
            }
            dataEnd = Math.max(dataEnd, end);
            tensors.put(name, new TensorInfo(name, dtype, shape, dataStart + begin, end - begin, this));
        }
        if (dataStart + dataEnd > fileSize) {
            throw new CheckpointException(path + ": truncated file: tensor data needs " + (dataStart + dataEnd)
                    + " bytes but the file has " + fileSize);
        }
    }

    private void readFully(ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = channel.read(buf, pos + buf.position());
            if (r < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Maps {@code length} bytes of the tensor's data starting {@code offset} bytes into it. Length at most
     * {@link #MAX_WINDOW}. The buffer is little-endian and read-only.
     */
    public ByteBuffer map(TensorInfo t, long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > t.byteLength() || length > MAX_WINDOW) {
            throw new IllegalArgumentException("window " + offset + "+" + length + " outside " + t.where());
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, t.begin() + offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(t.where() + ": cannot map: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
