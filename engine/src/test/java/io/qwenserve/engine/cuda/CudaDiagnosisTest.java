package io.qwenserve.engine.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import org.junit.jupiter.api.Test;

/**
 * What a machine without a usable GPU is told. The load failures are built the way JavaCPP reports them (the errors
 * of libtorch's CUDA build seen on a machine without CUDA, and on one with only the CUDA runtime and CUPTI): the
 * dynamic linker's message is in the cause.
 */
class CudaDiagnosisTest {

    /** JavaCPP's error for a library whose dependency is missing. */
    static UnsatisfiedLinkError loadError(String jniLib, String missing) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("no " + jniLib + " in java.library.path: /usr/java/packages/lib:/usr/lib");
        e.initCause(new UnsatisfiedLinkError("/root/.javacpp/cache/pytorch-2.10.0-1.5.13-linux-x86_64-gpu.jar/org/bytedeco/"
                + "pytorch/linux-x86_64-gpu/lib" + jniLib + ".so: " + missing + ": cannot open shared object file: No such file or directory"));
        return e;
    }

    @Test
    void theMissingLibraryIsReadFromTheCause() {
        assertEquals("libcuda.so.1", NativeLoadError.missingLibrary(loadError("jnicudart", "libcuda.so.1")).orElseThrow());
        assertEquals("libcupti.so.13", NativeLoadError.missingLibrary(loadError("jnitorch", "libcupti.so.13")).orElseThrow());
        assertTrue(NativeLoadError.missingLibrary(new UnsatisfiedLinkError("no jnicudart in java.library.path")).isEmpty());
    }

    @Test
    void libtorchThatDoesNotLoadNamesTheLibraryAndTheVersionsItNeeds() {
        String s = CudaDiagnosis.libtorchDidNotLoad(loadError("jnitorch", "libcupti.so.13"));
        assertTrue(s.contains("libcupti.so.13 was not found"), s);
        assertTrue(s.contains("CUDA 13.1 and cuDNN 9.19"), s);
        assertTrue(s.contains("Dockerfile.cuda"), s);
    }

    @Test
    void noDriver() {
        String s = CudaDiagnosis.noCuda(loadError("jnitorch_cuda", "libcuda.so.1"), null, null);
        assertTrue(s.contains("NVIDIA driver") && s.contains("libcuda.so.1") && s.contains("--gpus all"), s);
        // a second attempt at the same library carries no linker message: the driver stays the reason given
        assertEquals(s, CudaDiagnosis.noCuda(loadError("jnitorch_cuda", "libcuda.so.1"),
                new UnsatisfiedLinkError("no jnicudart in java.library.path"), null));
    }

    @Test
    void aMissingCudaLibrary() {
        String s = CudaDiagnosis.noCuda(loadError("jnitorch_cuda", "libcublas.so.13"), null, null);
        assertTrue(s.startsWith("libtorch's CUDA libraries could not be loaded: libcublas.so.13 was not found"), s);
        assertFalse(s.contains("driver"), s);
        String both = CudaDiagnosis.noCuda(loadError("jnitorch_cuda", "libcudnn.so.9"), loadError("jnicudart", "libcuda.so.1"), null);
        assertTrue(both.contains("libcuda.so.1") && both.contains("libcudnn.so.9 was not found"), both);
    }

    @Test
    void aDriverWithoutAUsableGpu() {
        String s = CudaDiagnosis.noCuda(null, null, "CUDA driver version is insufficient for CUDA runtime version (cudaGetDeviceCount error 35)");
        assertTrue(s.contains("no usable GPU") && s.contains("insufficient") && s.contains("580"), s);
        assertTrue(CudaDiagnosis.noCuda(null, null, null).contains("nvidia-smi"));
    }

    @Test
    void versionsAsTheRuntimeEncodesThem() {
        assertEquals("13.1", CudaStatus.version(13010));
        assertEquals("12.9", CudaStatus.version(12090));
    }

    @Test
    void theCpuBuildSaysSoWhenCudaIsAskedFor() {
        assumeFalse(Cuda.cudaBuild(), "this test runs in the CPU build");
        TorchRuntime.init();
        CudaStatus s = Cuda.probe();
        assertFalse(s.available());
        assertFalse(s.cudaBuild());
        assertTrue(s.problem().contains("CPU build of libtorch") && s.problem().contains("--device cuda"), s.problem());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Torch.device("cuda:0"));
        assertTrue(e.getMessage().startsWith("device 'cuda:0' requested but CUDA is not available: this is the CPU build"), e.getMessage());
    }
}
