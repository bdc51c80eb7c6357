package io.qwenserve.engine.model;

import java.util.EnumSet;
import java.util.Set;
import java.util.logging.Logger;
import org.bytedeco.pytorch.Context;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One linear layer, y = x W^T + b. At load it prepares the weight in the form of every kernel its {@link KernelPolicy}
 * may pick (plain, oneDNN-prepacked, fbgemm int8, int4-packed); each call picks the kernel by the number of rows of x.
 * The model calls {@link #apply} and never sees which kernel runs.
 */
public final class Linear implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Linear.class.getName());

    // the policy and forms change only while the model loads (a measured policy, see retain)
    private KernelPolicy policy;
    private Set<LinearKernel> held;        // kernels this layer has a weight form for
    private LinearKernel fallback;         // what runs when the policy picks a kernel this layer lacks
    private Tensor plain;                  // [out, in] in the compute dtype, for PLAIN and GEMV, or null
    private OneDnn.Packed prepacked;       // oneDNN layout, or null
    private IValue int8;                   // fbgemm packed params (bias included), or null
    private QuantOps.Int8WeightOnly int8wo; // int8 [out, in] + per-row scales, or null
    private Tensor int4;                   // uint8 [out, in/2], or null
    private Tensor int4ScalesZeros;        // bf16 [in/g, out, 2]
    private long int4Group;
    private final Tensor bias;             // [out] in the compute dtype, or null
    private final long inFeatures;
    private final long outFeatures;

    private static volatile boolean timed;
    private static final java.util.concurrent.atomic.AtomicLong timedNanos = new java.util.concurrent.atomic.AtomicLong();

    /** A layer running one kernel for every batch size; takes ownership of {@code weight} and {@code bias}. */
    public Linear(Tensor weight, Tensor bias, LinearKernel kernel) {
        this(weight, null, bias, KernelPolicy.single(kernel), LinearKernel.defaultFor(weight.is_cpu(), Precision.BF16), null);
    }

    /**
     * A layer from a float [out, in] weight in the compute dtype (taken over and closed once converted). Forms: one per
     * kernel of the policy that runs float weights, plus int8 when the policy names INT8_FBGEMM; INT4_PACKED is ignored
     * (no GPTQ data). With no usable kernel left, {@code floatDefault}.
     */
    public static Linear of(Tensor weight, Tensor bias, KernelPolicy policy, LinearKernel floatDefault) {
        return new Linear(weight, null, bias, policy, floatDefault, null);
    }

    /**
     * A layer from GPTQ data (taken over and closed). INT4_PACKED when the policy names it and the kernel fits the
     * weight; float kernels on the weight dequantized to {@code dtype}; when nothing else fits, {@code floatDefault} on
     * the dequantized weight (logged with {@code name}).
     */
    public static Linear ofGptq(String name, GptqWeight w, Tensor bias, KernelPolicy policy, LinearKernel floatDefault,
                                ScalarType dtype) {
        return new Linear(null, w, bias, policy, floatDefault, new GptqContext(name, dtype, null));
    }

    /**
     * A GPTQ layer on a CUDA device running the CUDA int4 kernel ({@link CudaInt4}; the caller has checked that it
     * fits): the int4 form only, on {@code device}.
     */
    static Linear ofGptqCuda(String name, GptqWeight w, Tensor bias, ScalarType dtype, Device device) {
        return new Linear(null, w, bias, KernelPolicy.single(LinearKernel.INT4_PACKED), LinearKernel.PLAIN,
                new GptqContext(name, dtype, device));
    }

    /** {@code cuda}: the CUDA device the int4 form goes to, or null for the CPU kernel. */
    private record GptqContext(String name, ScalarType dtype, Device cuda) {}

    private Linear(Tensor weight, GptqWeight gptq, Tensor bias, KernelPolicy policy, LinearKernel floatDefault,
                   GptqContext ctx) {
        this.policy = policy;
        this.bias = bias;
        this.outFeatures = weight != null ? weight.size(0) : gptq.outFeatures();
        this.inFeatures = weight != null ? weight.size(1) : gptq.inFeatures();
        Set<LinearKernel> want = EnumSet.copyOf(policy.kernels());
        if (gptq == null) {
            want.remove(LinearKernel.INT4_PACKED);
        } else {
            want.remove(LinearKernel.INT8_FBGEMM);
            want.remove(LinearKernel.INT8_WEIGHT_ONLY);
            String unfit = want.contains(LinearKernel.INT4_PACKED) ? gptq.int4KernelUnfit() : null;
            if (unfit != null) {
                want.remove(LinearKernel.INT4_PACKED);
                LOG.fine(() -> ctx.name() + ": int4 kernel does not fit (" + unfit + "): dequantized to "
                        + ctx.dtype() + ", " + floatDefault);
            }
        }
        if (want.contains(LinearKernel.INT8_WEIGHT_ONLY) && gptq == null
                && !QuantOps.int8WeightOnlyFits(inFeatures, weight.scalar_type().intern())) {
            want.remove(LinearKernel.INT8_WEIGHT_ONLY);
            want.add(LinearKernel.INT8_FBGEMM); // still int8
        }
        if (want.isEmpty()) {
            want.add(floatDefault);
        }

        Tensor w = weight;
        boolean needFloat = want.stream().anyMatch(LinearKernel::floatWeights)
                || (gptq == null && want.stream().anyMatch(LinearKernel::int8));
        if (gptq != null) {
            if (want.contains(LinearKernel.INT4_PACKED)) {
                if (ctx.cuda() == null) {
                    int4 = QuantOps.get().int4Pack(gptq.q());
                    int4ScalesZeros = gptq.scalesAndZeros();
                } else {
                    int4 = CudaInt4.pack(gptq.q(), ctx.cuda());
                    int4ScalesZeros = CudaInt4.scalesAndZeros(gptq, ctx.cuda());
                }
                int4Group = gptq.groupSize();
            } else {
                int4 = null;
                int4ScalesZeros = null;
                int4Group = 0;
            }
            w = needFloat ? gptq.dequantize(ctx.dtype()) : null;
            gptq.close();
        } else {
            int4 = null;
            int4ScalesZeros = null;
            int4Group = 0;
        }
        this.int8 = want.contains(LinearKernel.INT8_FBGEMM) ? QuantOps.get().int8Pack(w, bias) : null;
        this.int8wo = want.contains(LinearKernel.INT8_WEIGHT_ONLY) ? QuantOps.get().int8WeightOnlyPack(w, w.scalar_type().intern()) : null;
        this.prepacked = want.contains(LinearKernel.ONEDNN_PREPACKED) ? checkedPrepack(w, bias, want) : null;
        this.held = want;
        this.fallback = preferred(want);
        boolean keepPlain = want.contains(LinearKernel.PLAIN) || want.contains(LinearKernel.GEMV);
        if (keepPlain) {
            this.plain = w;
        } else {
            this.plain = null;
            if (w != null) {
                w.close();
            }
        }
    }

    /**
     * The oneDNN form of {@code w}, or null when it disagrees with {@code torch.linear} on this shape: the layer then
     * holds PLAIN instead (see {@link OneDnn}).
     */
    private OneDnn.Packed checkedPrepack(Tensor w, Tensor bias, Set<LinearKernel> want) {
        OneDnn.Packed p = OneDnn.get().prepack(w, bias);
        if (OneDnn.get().agrees(p, w, bias)) {
            return p;
        }
        p.close();
        want.remove(LinearKernel.ONEDNN_PREPACKED);
        want.add(LinearKernel.PLAIN);
        LOG.warning(() -> "oneDNN prepacked linear [" + outFeatures + " x " + inFeatures + "] " + w.scalar_type()
                + " disagrees with torch.linear: this layer runs PLAIN");
        return null;
    }

    private static LinearKernel preferred(Set<LinearKernel> held) {
        for (LinearKernel k : new LinearKernel[] {LinearKernel.INT4_PACKED, LinearKernel.INT8_FBGEMM, LinearKernel.INT8_WEIGHT_ONLY,
                LinearKernel.ONEDNN_PREPACKED, LinearKernel.PLAIN, LinearKernel.GEMV}) {
            if (held.contains(k)) {
                return k;
            }
        }
        throw new IllegalStateException("no kernel");
    }

    /** The kernel a call with {@code rows} rows runs. */
    public LinearKernel kernelFor(long rows) {
        LinearKernel k = policy.choose(rows);
        return held.contains(k) ? k : fallback;
    }

    /**
     * Starts or stops adding the wall time of every {@link #apply} call to a process-wide counter (benchmarks: the time a
     * step spends in its linear layers). On the CPU the calls are synchronous, so this is their compute time; on CUDA
     * it is only the launch time.
     */
    public static void timeCalls(boolean on) {
        timed = on;
        timedNanos.set(0);
    }

    /** Nanoseconds spent in {@link #apply} since the last call (0 unless {@link #timeCalls} is on). */
    public static long takeTimedNanos() {
        return timedNanos.getAndSet(0);
    }

    /** x: [T, in] -> [T, out]. */
    public Tensor apply(Tensor x) {
        if (!timed) {
            return run(x);
        }
        long t0 = System.nanoTime();
        Tensor y = run(x);
        timedNanos.addAndGet(System.nanoTime() - t0);
        return y;
    }

    private Tensor run(Tensor x) {
        return applyWith(kernelFor(x.size(0)), x);
    }

    /** x: [T, in] -> [T, out] with kernel {@code k}, which this layer must hold (measurement). */
    Tensor applyWith(LinearKernel k, Tensor x) {
        return switch (k) {
            case ONEDNN_PREPACKED -> OneDnn.get().linear(x, prepacked);
            case PLAIN -> plainLinear(x);
            case GEMV -> {
                Context c = torch.globalContext();
                boolean was = c.userEnabledMkldnn();
                c.setUserEnabledMkldnn(false);
                try {
                    yield plainLinear(x);
                } finally {
                    c.setUserEnabledMkldnn(was);
                }
            }
            case INT8_FBGEMM -> QuantOps.get().int8Linear(x, int8); // bias packed with the weight
            case INT8_WEIGHT_ONLY -> withBias(QuantOps.get().int8WeightOnlyLinear(x, int8wo));
            case INT4_PACKED -> withBias(x.is_cuda() ? CudaInt4.linear(x, int4, int4Group, int4ScalesZeros)
                    : QuantOps.get().int4Linear(x, int4, int4Group, int4ScalesZeros));
        };
    }

    private Tensor withBias(Tensor y) {
        if (bias == null) {
            return y;
        }
        return y.add_(bias);
    }

    private Tensor plainLinear(Tensor x) {
        return bias == null ? torch.linear(x, plain) : torch.linear(x, plain, new TensorOptional(bias));
    }

    /**
     * Switches to {@code chosen} (a policy measured while loading) and releases every weight form it never picks.
     */
    void retain(KernelPolicy chosen) {
        Set<LinearKernel> keep = EnumSet.noneOf(LinearKernel.class);
        for (LinearKernel k : chosen.kernels()) {
            if (held.contains(k)) {
                keep.add(k);
            }
        }
        if (keep.isEmpty()) {
            keep.add(fallback);
        }
        if (!keep.contains(LinearKernel.PLAIN) && !keep.contains(LinearKernel.GEMV) && plain != null) {
            plain.close();
            plain = null;
        }
        if (!keep.contains(LinearKernel.ONEDNN_PREPACKED) && prepacked != null) {
            prepacked.close();
            prepacked = null;
        }
        if (!keep.contains(LinearKernel.INT8_FBGEMM) && int8 != null) {
            int8.close();
            int8 = null;
        }
        if (!keep.contains(LinearKernel.INT8_WEIGHT_ONLY) && int8wo != null) {
            int8wo.close();
            int8wo = null;
        }
        if (!keep.contains(LinearKernel.INT4_PACKED) && int4 != null) {
            int4.close();
            int4ScalesZeros.close();
            int4 = null;
            int4ScalesZeros = null;
        }
        held = keep;
        fallback = preferred(keep);
        policy = chosen;
    }

    /** The kernel of a one-row call (decode of one sequence). */
    public LinearKernel kernel() {
        return kernelFor(1);
    }

    public KernelPolicy policy() {
        return policy;
    }

    /** Kernels this layer holds a weight form for. */
    public Set<LinearKernel> heldKernels() {
        return EnumSet.copyOf(held);
    }

    /** The tensors a CUDA (or any) step reads: the plain weight, the int4 forms, the bias (those held). */
    java.util.List<Tensor> tensors() {
        return java.util.stream.Stream.of(plain, int4, int4ScalesZeros, bias).filter(java.util.Objects::nonNull).toList();
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    /** Bytes of weight read by a one-row call (for bandwidth figures); {@code p} is the compute dtype. */
    public long weightBytes(Precision p) {
        return bytesOf(kernel(), p);
    }

    private long bytesOf(LinearKernel k, Precision p) {
        long n = inFeatures * outFeatures;
        return switch (k) {
            case PLAIN, GEMV, ONEDNN_PREPACKED -> n * p.bytes();
            case INT8_FBGEMM -> n + outFeatures * 12;                    // int8 + per-channel scale, zero, column offset
            case INT8_WEIGHT_ONLY -> n + outFeatures * p.bytes();        // int8 + per-channel scale
            case INT4_PACKED -> n / 2 + 4 * outFeatures * (inFeatures / Math.max(1, int4Group));
        };
    }

    /** Bytes of every weight form this layer keeps (an int8 form is counted at its payload size). */
    public long residentBytes(Precision p) {
        long sum = 0;
        if (plain != null) {
            sum += bytesOf(LinearKernel.PLAIN, p);
        }
        if (prepacked != null) {
            sum += bytesOf(LinearKernel.ONEDNN_PREPACKED, p);
        }
        if (int8 != null) {
            sum += bytesOf(LinearKernel.INT8_FBGEMM, p);
        }
        if (int4 != null) {
            sum += bytesOf(LinearKernel.INT4_PACKED, p);
        }
        if (int8wo != null) {
            sum += bytesOf(LinearKernel.INT8_WEIGHT_ONLY, p);
        }
        return sum + (bias != null ? outFeatures * p.bytes() : 0);
    }

    @Override
    public void close() {
        if (prepacked != null) {
            prepacked.close();
        }
        for (Tensor t : new Tensor[] {plain, int4, int4ScalesZeros, bias}) {
            if (t != null) {
                t.close();
            }
        }
        if (int8 != null) {
            int8.close();
        }
        if (int8wo != null) {
            int8wo.close();
        }
    }
}
