package io.qwenserve.engine.model;

import java.util.logging.Logger;
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
 */
public final class TorchRuntime {
    private static final Logger LOG = Logger.getLogger(TorchRuntime.class.getName());
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
                openblas_nolapack.blas_set_num_threads(1);
            } catch (Throwable t) {
                LOG.warning("could not limit OpenBLAS threads (set OPENBLAS_NUM_THREADS=1): " + t);
            }
            if (System.getenv("OMP_WAIT_POLICY") == null) {
                LOG.warning("OMP_WAIT_POLICY is not set: OpenMP workers will spin between operations and slow everything "
                        + "else on this machine; start with OMP_WAIT_POLICY=PASSIVE (bin/qwen does)");
            }
            initialised = true;
        }
    }
}
