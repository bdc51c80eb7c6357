package io.qwenserve.engine.cli;

import io.qwenserve.engine.cuda.Cuda;
import io.qwenserve.engine.cuda.CudaDevice;
import io.qwenserve.engine.cuda.CudaStatus;
import io.qwenserve.engine.model.DeviceMap;
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
 * {@code bin/qwen info}: loads libtorch, prints what it offers (threads, oneDNN, MKL, CUDA: the build, runtime and
 * driver versions, every device with its free and total memory, or what is missing) and runs one small matrix product
 * per device. With {@code --device} it checks that one device and fails, saying why, when it cannot be used.
 */
@Command(name = "info", description = "Load libtorch, print its threads, oneDNN/MKL availability and CUDA (build, runtime, "
        + "driver, devices and their memory, or what is missing), and check one product per device.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--config", description = "Also print libtorch's build configuration.")
    boolean config;

    @Option(names = "--device", description = "Check only this device (cpu, cuda or cuda:N), or each of a list "
            + "(cuda:0,cuda:1); exit status 1, saying what is missing, when one cannot be used.")
    String device;

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
        CudaStatus cuda = Cuda.probe();
        int devices = cuda.devices().size();
        System.out.println("cuda: " + cuda.available() + (cuda.available() ? " (" + devices + " device" + (devices == 1 ? "" : "s") + ")" : ""));
        System.out.println("cuda_build: " + (cuda.cudaBuild()
                ? "libtorch's CUDA natives (org.bytedeco:cuda " + Cuda.presetVersion() + ")" : "cpu"));
        if (cuda.available()) {
            System.out.println("cuda_runtime: " + cuda.runtimeVersion());
            System.out.println("cuda_driver: supports CUDA " + cuda.driverVersion());
            for (CudaDevice d : cuda.devices()) {
                System.out.println("cuda_device " + d.index() + ": " + d);
            }
        } else {
            System.out.println("cuda_missing: " + cuda.problem());
        }
        if (device != null) {
            DeviceMap.names(device); // a well-formed list (refused, with the reason, when not)
            for (String d : device.split(",")) {
                check(d.trim()); // throws, with the reason, when the device cannot be used
            }
        } else {
            check("cpu");
            for (int i = 0; i < devices; i++) {
                check("cuda:" + i);
            }
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
