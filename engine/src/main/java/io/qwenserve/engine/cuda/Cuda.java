package io.qwenserve.engine.cuda;

import java.io.IOException;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * CUDA as this process sees it: whether libtorch's CUDA build is on the class path, whether it and the CUDA libraries
 * it links load, the driver, the devices and their memory. When CUDA is not there, {@link #probe()} says plainly what
 * is missing ({@link CudaDiagnosis}); nothing here loads a CUDA library in the CPU build.
 */
public final class Cuda {
    private Cuda() {}

    /** libtorch's CUDA natives are on the class path (a {@code -Pcuda -Dcuda} build). */
    public static boolean cudaBuild() {
        String lib = "org/bytedeco/pytorch/" + Loader.getPlatform() + "-gpu/libtorch_cuda.so";
        return Cuda.class.getClassLoader().getResource(lib) != null;
    }

    /** The org.bytedeco:cuda version on the class path: "13.1-9.19-1.5.13" is CUDA 13.1 and cuDNN 9.19. */
    public static String presetVersion() {
        try {
            String v = Loader.getVersion("org.bytedeco", "cuda");
            return v != null ? v : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * Probes CUDA. A process that found it unavailable keeps that answer: JavaCPP reports the dynamic linker's reason only
     * on the first attempt to load a library (later attempts see a class that failed to initialise).
     */
    public static CudaStatus probe() {
        CudaStatus s = unavailable;
        if (s == null) {
            s = probeNow();
            if (!s.available()) {
                unavailable = s;
            }
        }
        return s;
    }

    private static volatile CudaStatus unavailable;

    private static CudaStatus probeNow() {
        if (!cudaBuild()) {
            return CudaStatus.unavailable(false, CudaDiagnosis.cpuBuild());
        }
        try {
            Loader.load(torch.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return CudaStatus.unavailable(true, CudaDiagnosis.libtorchDidNotLoad(e));
        }
        if (torch.cuda_is_available()) {
            return CudaRuntimeApi.status();
        }
        Throwable torchCuda = tryLoad(torch_cuda.class);
        Throwable runtime = tryLoad(cudart.class);
        String deviceCount = runtime == null ? CudaRuntimeApi.deviceCountError() : null;
        return CudaStatus.unavailable(true, CudaDiagnosis.noCuda(torchCuda, runtime, deviceCount));
    }

    /** Why a CUDA device cannot be used here (one sentence), or null when one can. */
    public static String whyUnavailable() {
        return probe().problem();
    }

    /**
     * A device's name and memory now, after libtorch's caching allocator has returned the blocks it holds unused (so
     * that free memory means free). CUDA only.
     */
    public static CudaDevice device(int index) {
        CudaRuntimeApi.releaseCachedBlocks();
        return CudaRuntimeApi.device(index);
    }

    private static Throwable tryLoad(Class<?> presets) {
        try {
            Loader.load(presets);
            return null;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return e;
        }
    }
}
