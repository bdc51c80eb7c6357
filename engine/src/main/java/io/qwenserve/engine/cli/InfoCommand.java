package io.qwenserve.engine.cli;

import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen info}: loads libtorch, prints what it offers (threads, oneDNN, MKL, CUDA devices) and runs one small
 * matrix product per device. Container builds run it so that the native libraries are extracted at build time and a
 * broken image fails there rather than at the first request.
 */
@Command(name = "info", description = "Load libtorch, print its threads, oneDNN/MKL/CUDA availability and check one product per device.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--config", description = "Also print libtorch's build configuration.")
    boolean config;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch intra-op threads (default 0: every "
            + "processor this process may run on).")
    int threads;

    @Override
    public Integer call() {
        TorchRuntime.init(threads);
        System.out.println("threads: " + TorchRuntime.threads());
        System.out.println("available_processors: " + Runtime.getRuntime().availableProcessors());
        System.out.println("omp_wait_policy: " + String.valueOf(System.getenv("OMP_WAIT_POLICY")));
        System.out.println("mkldnn: " + torch.hasMKLDNN());
        System.out.println("mkl: " + torch.hasMKL());
        boolean cuda = torch.cuda_is_available();
        int devices = cuda ? torch.cuda_device_count() : 0;
        System.out.println("cuda: " + cuda + (cuda ? " (" + devices + " device" + (devices == 1 ? "" : "s") + ")" : ""));
        check("cpu");
        for (int i = 0; i < devices; i++) {
            check("cuda:" + i);
        }
        if (config) {
            System.out.println(torch.show_config().getString());
        }
        return 0;
    }

    /** A 64x64 product of ones must be 64 everywhere. */
    private static void check(String device) {
        try (Device d = Torch.device(device);
                TensorOptions o = Torch.options(torch.ScalarType.Float, d);
                Tensor a = torch.ones(new long[] {64, 64}, o);
                Tensor p = torch.matmul(a, a);
                Tensor s = p.sum();
                Tensor c = s.cpu()) {
            double sum = c.item_double();
            if (sum != 64.0 * 64 * 64) {
                throw new IllegalStateException(device + ": a 64x64 product of ones summed to " + sum);
            }
            System.out.println(device + ": ok");
        }
    }
}
