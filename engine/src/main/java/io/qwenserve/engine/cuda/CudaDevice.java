package io.qwenserve.engine.cuda;

/** One CUDA device as the runtime reports it now. */
public record CudaDevice(int index, String name, long freeBytes, long totalBytes) {

    @Override
    public String toString() {
        return String.format("%s, %.2f GiB free of %.2f GiB", name, freeBytes / GIB, totalBytes / GIB);
    }

    static final double GIB = 1024.0 * 1024 * 1024;
}
