package io.qwenserve.engine.cuda;

import java.util.Optional;

/**
 * Turns what a CUDA probe found into one plain sentence saying what is missing. Pure: the facts are gathered by
 * {@link Cuda} (and injected by tests).
 */
public final class CudaDiagnosis {
    /** The CUDA and cuDNN versions libtorch's CUDA build links (org.bytedeco:cuda 13.1-9.19, see pom.xml). */
    public static final String BUILT_FOR = "CUDA 13.1 and cuDNN 9.19";
    static final String DRIVER = "libcuda.so.1";

    private CudaDiagnosis() {}

    /** The process runs libtorch's CPU natives. */
    public static String cpuBuild() {
        return "this is the CPU build of libtorch (its CUDA natives are not on the class path): run with bin/qwen ... "
                + "--device cuda, which builds the CUDA variant into target-cuda/, or build with mvn -Pcuda -Dcuda";
    }

    /** libtorch's CUDA build itself did not load (it links the CUDA runtime and CUPTI even for CPU work). */
    public static String libtorchDidNotLoad(Throwable error) {
        return "libtorch's CUDA build could not be loaded: " + missing(error) + ". " + needs();
    }

    /**
     * libtorch loaded but reports no CUDA: {@code torchCudaError} is why its CUDA part did not load (null when it did),
     * {@code runtimeError} why the CUDA runtime bindings did not load (null when they did), {@code deviceCountError}
     * the runtime's answer to cudaGetDeviceCount when it was not success (null otherwise).
     */
    public static String noCuda(Throwable torchCudaError, Throwable runtimeError, String deviceCountError) {
        boolean noDriver = missesDriver(torchCudaError) || missesDriver(runtimeError);
        Throwable libraries = missesLibrary(torchCudaError) ? torchCudaError : missesLibrary(runtimeError) ? runtimeError
                : noDriver ? null : torchCudaError != null ? torchCudaError : runtimeError;
        if (libraries != null) {
            String what = (libraries == torchCudaError ? "libtorch's CUDA libraries" : "the CUDA runtime bindings")
                    + " could not be loaded: " + missing(libraries) + ". " + needs();
            return noDriver ? noDriver() + "; and " + what : what;
        }
        if (noDriver) {
            return noDriver();
        }
        if (deviceCountError != null) {
            return "the CUDA runtime found no usable GPU: " + deviceCountError
                    + " (CUDA 13.1 needs an NVIDIA driver of the 580 series or newer; nvidia-smi shows the driver and its GPUs)";
        }
        return "libtorch reports no CUDA device although its CUDA libraries and the driver loaded (check nvidia-smi and "
                + "CUDA_VISIBLE_DEVICES)";
    }

    /** A library other than the driver's is named as missing. */
    private static boolean missesLibrary(Throwable t) {
        return t != null && NativeLoadError.missingLibrary(t).filter(l -> !l.equals(DRIVER)).isPresent();
    }

    private static boolean missesDriver(Throwable t) {
        return t != null && NativeLoadError.missingLibrary(t).filter(DRIVER::equals).isPresent();
    }

    static String noDriver() {
        return "the NVIDIA driver library " + DRIVER + " was not found: this machine has no NVIDIA driver (or, in a "
                + "container, no GPU was passed in: docker run --gpus all with the NVIDIA container toolkit)";
    }

    private static String missing(Throwable error) {
        Optional<String> lib = NativeLoadError.missingLibrary(error);
        return lib.map(l -> l + " was not found").orElseGet(() -> NativeLoadError.linkerMessage(error));
    }

    private static String needs() {
        return "It needs the " + BUILT_FOR + " libraries (cudart, cuBLAS, cuFFT, cuRAND, cuSPARSE, cuSOLVER, cuFile, "
                + "CUPTI, NCCL, cuDNN) on the library path or in /usr/local/cuda/lib64, as the CUDA image "
                + "(deploy/docker/Dockerfile.cuda) has them";
    }
}
