package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Makes a measured {@link KernelPolicy} concrete: times every candidate kernel on the linear layers of one decoder
 * layer (loaded in every candidate's form) at step sizes 1, 2, 4, ... rows, and gives each size to the fastest. Rows
 * between two measured sizes take the rule of the larger; sizes above the largest measured one take its winner. The
 * kernel of the previous size keeps a size unless another is more than {@value #SWITCH_MARGIN} faster in relative terms,
 * so that timing noise does not make the policy flip back and forth.
 */
final class KernelTuner {
    private static final Logger LOG = Logger.getLogger(KernelTuner.class.getName());
    static final int[] SIZES = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    /** A size whose slowest candidate already took this long ends the measurement (its winner covers the rest). */
    private static final double STOP_SECONDS = 0.25;
    static final double SWITCH_MARGIN = 0.1;

    private KernelTuner() {}

    /** The policy the timings on {@code layer} give among {@code candidates} (each layer holds every candidate's form). */
    static KernelPolicy tune(List<Linear> layer, Set<LinearKernel> candidates, Precision precision) {
        List<LinearKernel> ks = new ArrayList<>(candidates);
        ks.removeIf(k -> layer.stream().anyMatch(l -> !l.heldKernels().contains(k)));
        if (ks.size() <= 1) {
            return KernelPolicy.single(ks.isEmpty() ? layer.get(0).kernel() : ks.get(0));
        }
        List<KernelPolicy.Rule> rules = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        LinearKernel previous = null;
        int previousSize = 0;
        for (int size : SIZES) {
            Map<LinearKernel, Double> t = fastest(layer, ks, size, precision, size <= 32 ? 9 : 5);
            LinearKernel best = ks.stream().min((a, b) -> Double.compare(t.get(a), t.get(b))).orElseThrow();
            if (previous != null && t.get(previous) <= t.get(best) * (1 + SWITCH_MARGIN)) {
                best = previous;
            }
            table.append(String.format(" %d:", size));
            t.forEach((k, v) -> table.append(String.format(" %s %.2f ms", k, v * 1e3)));
            if (previous != null && best != previous) {
                rules.add(new KernelPolicy.Rule(previousSize, previous));
            }
            previous = best;
            previousSize = size;
            if (t.values().stream().mapToDouble(Double::doubleValue).max().orElse(0) > STOP_SECONDS) {
                break;
            }
        }
        rules.add(new KernelPolicy.Rule(Integer.MAX_VALUE, previous));
        KernelPolicy p = new KernelPolicy(rules);
        LOG.info("kernel policy " + p + " measured among " + ks + " on one decoder layer (fastest ms per size):" + table);
        return p;
    }

    /**
     * The fastest of {@code reps} passes over the layer's linears at {@code rows} rows, per kernel, the kernels taking
     * turns within each repetition: on a shared machine contention only adds time, and taking turns spreads it.
     */
    private static Map<LinearKernel, Double> fastest(List<Linear> layer, List<LinearKernel> ks, int rows, Precision precision,
                                                     int reps) {
        Map<LinearKernel, Double> best = new EnumMap<>(LinearKernel.class);
        try (InferenceMode ignored = new InferenceMode(); PointerScope scope = new PointerScope()) {
            Tensor[] x = new Tensor[layer.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = torch.randn(new long[] {rows, layer.get(i).inFeatures()},
                        Torch.options(precision.scalarType(), new org.bytedeco.pytorch.Device(torch.DeviceType.CPU)));
            }
            for (int r = -1; r < reps; r++) {
                for (LinearKernel k : ks) {
                    long t0 = System.nanoTime();
                    try (PointerScope step = new PointerScope()) {
                        for (int i = 0; i < x.length; i++) {
                            layer.get(i).applyWith(k, x[i]);
                        }
                    }
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (r >= 0) {
                        best.merge(k, s, Math::min);
                    }
                }
            }
        }
        return best;
    }
}
