package io.qwenserve.engine.model;

import io.qwenserve.engine.cuda.Cuda;
import io.qwenserve.engine.cuda.CudaDiagnosis;
import io.qwenserve.engine.cuda.NativeLoadError;
import java.util.logging.Logger;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;

/**
 * Process-wide libtorch settings, applied once before the first model loads.
 *
 * <p>libtorch parallelises with OpenMP, but the OpenBLAS it links for some float32 products keeps its own thread pool
 * whose threads spin after every call. On a small machine the two pools fight for the same cores and every operation
 * slows down several-fold (measured: a 128-token prefill of the 0.5B shape took 2.5 s instead of 0.33 s). OpenBLAS
 * is therefore limited to the calling thread; OpenMP keeps all cores.
 *
 * <p>libgomp's own workers spin between parallel regions by default, which starves the JVM's threads and any
 * neighbouring process: on 2 cores a tiny model decoded 4x slower, and the 0.5B shape took 1 s per step instead of 0.12 s
 * while another process ran. {@code OMP_WAIT_POLICY=PASSIVE} must be in the environment before libtorch loads (the
 * launch scripts, the test configuration and the container images set it); a warning is logged when it is missing.
 *
 * <p>Intra-op threads: libtorch's own default is what its CPU probe calls physical cores, which differs between
 * otherwise equal VMs (1 on some 2-vCPU machines, 2 on others). The engine sets it explicitly: every core the process
 * may run on ({@link Runtime#availableProcessors()}, which honours CPU affinity and container limits) unless a count is
 * given ({@code --threads N}, {@code qwen.engine.threads}).
 *
 * <p>JavaCPP's physical-memory guard is switched off ({@code org.bytedeco.javacpp.maxPhysicalBytes=0}) unless the
 * property is set: with it, every native object the bindings create (each tensor handle a libtorch call returns) first
 * reads the process's resident size from {@code /proc}, which cost several microseconds per call here, more than many
 * of the small operations of a decode step. The engine releases its tensors deterministically, so the guard (which
 * triggers garbage collections when native memory grows) has nothing to do. The property is read once, when JavaCPP's
 * {@code Pointer} class initialises, so this class sets it before touching JavaCPP; a warning says when that was too
 * late.
 */
public final class TorchRuntime {
    private static final Logger LOG = Logger.getLogger(TorchRuntime.class.getName());
    static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";

    static {
        if (System.getProperty(MAX_PHYSICAL_BYTES) == null) {
            System.setProperty(MAX_PHYSICAL_BYTES, "0");
        }
    }

    private static volatile boolean initialised;
    private static volatile boolean threadsSet;

    private TorchRuntime() {}

    /** Initialises; sets every available processor as the thread count unless a count was set before. */
    public static void init() {
        setup();
        if (!threadsSet) {
            init(0);
        }
    }

    /**
     * Initialises once and sets libtorch's intra-op threads: {@code threads} when positive, else every available
     * processor.
     */
    public static void init(int threads) {
        setup();
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        synchronized (TorchRuntime.class) {
            if (torch.get_num_threads() != n) {
                torch.set_num_threads(n);
            }
            threadsSet = true;
        }
        LOG.fine(() -> "libtorch threads: " + torch.get_num_threads());
    }

    /** libtorch's intra-op thread count now. */
    public static int threads() {
        setup();
        return torch.get_num_threads();
    }

    private static void setup() {
        if (initialised) {
            return;
        }
        synchronized (TorchRuntime.class) {
            if (initialised) {
                return;
            }
            try {
                Loader.load(torch.class);
            } catch (UnsatisfiedLinkError e) { // the CUDA build on a machine without the CUDA libraries it links
                throw new IllegalStateException(Cuda.cudaBuild() ? CudaDiagnosis.libtorchDidNotLoad(e)
                        : "libtorch could not be loaded: " + NativeLoadError.linkerMessage(e), e);
            }
            try {
                openblas_nolapack.blas_set_num_threads(1);
            } catch (Throwable t) {
                LOG.warning("could not limit OpenBLAS threads (set OPENBLAS_NUM_THREADS=1): " + t);
            }
            if (Pointer.maxPhysicalBytes() > 0 && "0".equals(System.getProperty(MAX_PHYSICAL_BYTES))) {
                LOG.warning("JavaCPP initialised before the engine set -D" + MAX_PHYSICAL_BYTES + "=0: every libtorch call "
                        + "reads /proc first; start the JVM with that property");
            }
            if (System.getenv("OMP_WAIT_POLICY") == null) {
                LOG.warning("OMP_WAIT_POLICY is not set: OpenMP workers will spin between operations and slow everything "
                        + "else on this machine; start with OMP_WAIT_POLICY=PASSIVE (bin/qwen does)");
            }
            initialised = true;
        }
    }
}
