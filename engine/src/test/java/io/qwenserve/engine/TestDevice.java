package io.qwenserve.engine;

import io.qwenserve.engine.cuda.Cuda;
import io.qwenserve.engine.model.DeviceMap;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Torch;
import io.qwenserve.engine.model.TorchRuntime;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.Assumptions;

/**
 * The device that the device tests (tag {@value #TAG}: reference logits, batching, sampling, GPTQ) run on:
 * {@code -Dqwen.test.device=cuda} ({@code bin/test --gpu}), else the CPU. On a machine where that CUDA device cannot be
 * used they are skipped, and the reason is printed once.
 */
public final class TestDevice {
    public static final String PROPERTY = "qwen.test.device";
    public static final String TAG = "device";
    private static volatile boolean told;

    private TestDevice() {}

    public static String name() {
        return System.getProperty(PROPERTY, "cpu");
    }

    /** Skips the calling test (or class, from a {@code @BeforeAll}) when the device cannot be used here, saying why. */
    public static void assumeAvailable() {
        if (!name().startsWith("cuda")) {
            return;
        }
        String why;
        try {
            TorchRuntime.init();
            why = Cuda.whyUnavailable();
            if (why == null) {
                Torch.device(name()).close(); // cuda:N beyond the devices there
            }
        } catch (RuntimeException e) {
            why = e.getMessage();
        }
        if (why != null && !told) {
            told = true;
            System.err.println(PROPERTY + "=" + name() + ": the device tests are skipped: " + why);
        }
        String reason = why;
        Assumptions.assumeTrue(reason == null, () -> PROPERTY + "=" + name() + " cannot be used: " + reason);
    }

    /**
     * A list of {@code stages} devices of the kind under test, for a model split over them, as the model spells it
     * ({@code DeviceMap#spec}): {@code cpu,cpu,...} on the CPU; on CUDA the devices {@code cuda:0..} where there are
     * that many, else the device under test repeated (which runs the split on one GPU). Skips when the device cannot
     * be used.
     */
    public static String list(int stages) {
        assumeAvailable();
        if (name().startsWith("cuda") && org.bytedeco.pytorch.global.torch.cuda_device_count() >= stages) {
            return java.util.stream.IntStream.range(0, stages).mapToObj(i -> "cuda:" + i)
                    .collect(java.util.stream.Collectors.joining(","));
        }
        return String.join(",", java.util.Collections.nCopies(stages, DeviceMap.names(name()).get(0)));
    }

    /** Options for a model on the device under test (skips when it cannot be used). */
    public static ModelOptions options(Precision precision) {
        assumeAvailable();
        return ModelOptions.of(precision).withDevice(name());
    }

    /** The device under test (skips when it cannot be used); the caller closes it. */
    public static Device device() {
        assumeAvailable();
        TorchRuntime.init();
        return Torch.device(name());
    }
}
