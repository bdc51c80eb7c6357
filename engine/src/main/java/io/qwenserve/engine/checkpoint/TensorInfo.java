package io.qwenserve.engine.checkpoint;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header.
 *
 * @param begin byte offset of the data from the start of the file (header already added)
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long byteLength, SafetensorsFile file) {

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** "file: tensor 'name'", the prefix of every error about this tensor. */
    public String where() {
        return file.path() + ": tensor '" + name + "'";
    }
}
