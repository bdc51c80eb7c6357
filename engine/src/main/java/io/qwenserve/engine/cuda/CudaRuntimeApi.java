package io.qwenserve.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * The CUDA runtime calls (cudaRuntimeGetVersion, cudaDriverGetVersion, cudaGetDeviceProperties, cudaMemGetInfo) and
 * libtorch's cache release, through the bytedeco cuda preset. CUDA-only: none of this runs without a GPU, so none of
 * it has run in this project's tests (README: CUDA, what has run on a GPU).
 */
final class CudaRuntimeApi {
    private CudaRuntimeApi() {}

    static CudaStatus status() {
        int[] v = new int[1];
        check(cudart.cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
        String runtime = CudaStatus.version(v[0]);
        check(cudart.cudaDriverGetVersion(v), "cudaDriverGetVersion");
        String driver = CudaStatus.version(v[0]);
        List<CudaDevice> devices = new ArrayList<>();
        for (int i = 0; i < torch.cuda_device_count(); i++) {
            devices.add(device(i));
        }
        return new CudaStatus(true, true, runtime, driver, List.copyOf(devices), null);
    }

    static CudaDevice device(int index) {
        int[] previous = new int[1];
        check(cudart.cudaGetDevice(previous), "cudaGetDevice");
        check(cudart.cudaSetDevice(index), "cudaSetDevice(" + index + ")");
        try (cudaDeviceProp p = new cudaDeviceProp();
                SizeTPointer free = new SizeTPointer(1);
                SizeTPointer total = new SizeTPointer(1)) {
            check(cudart.cudaGetDeviceProperties(p, index), "cudaGetDeviceProperties(" + index + ")");
            check(cudart.cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return new CudaDevice(index, p.name().getString(), free.get(), total.get());
        } finally {
            cudart.cudaSetDevice(previous[0]);
        }
    }

    /** cudaGetDeviceCount's complaint when it finds no usable device, else null. */
    static String deviceCountError() {
        int[] n = new int[1];
        int rc = cudart.cudaGetDeviceCount(n);
        if (rc != cudart.cudaSuccess) {
            return cudart.cudaGetErrorString(rc).getString() + " (cudaGetDeviceCount error " + rc + ")";
        }
        return n[0] == 0 ? "cudaGetDeviceCount found 0 devices" : null;
    }

    /** Hands libtorch's cached, unused device blocks back to the driver. */
    static void releaseCachedBlocks() {
        torch_cuda.getAllocator().emptyCache();
    }

    private static void check(int rc, String call) {
        if (rc != cudart.cudaSuccess) {
            throw new IllegalStateException(call + ": " + cudart.cudaGetErrorString(rc).getString() + " (CUDA error " + rc + ")");
        }
    }
}
