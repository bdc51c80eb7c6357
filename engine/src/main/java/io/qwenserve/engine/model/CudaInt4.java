package io.qwenserve.engine.model;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * GPTQ Int4 weights kept int4 on CUDA: libtorch's CUDA int4 kernel, {@code aten::_convert_weight_to_int4pack} at load
 * (uint8 [N, K/2] in, two values a byte, the even column in the high nibble) and {@code aten::_weight_int4pack_mm} per
 * call (activations in bf16; the same [K/g, N, 2] scales and zeros as the CPU kernel), reached through the dispatcher as
 * the CPU kernels are ({@link QuantOps}).
 *
 * <p>Not yet run on a GPU. So that a mistake here, a GPU the kernel does not support (it needs sm80 or newer) or a
 * libtorch without it cannot produce wrong logits, the first use on a device runs a probe: a small random weight is
 * packed and multiplied by the kernel and compared with the dequantized product. Where the probe fails, GPTQ layers on
 * that device are dequantized to the compute dtype (the earlier path), and the start log says why.
 */
final class CudaInt4 {
    private static final Logger LOG = Logger.getLogger(CudaInt4.class.getName());
    /** k-tiles of 16 packed together: the in features must be a multiple of 16 times this. */
    static final int INNER_K_TILES = 8;
    private static final Map<String, String> PROBED = new ConcurrentHashMap<>(); // device -> "" (usable) or the reason

    private CudaInt4() {}

    /**
     * Why {@code w} cannot run the CUDA int4 kernel on {@code device}, or null. Activations of any float dtype run it
     * in bf16 (as on the CPU).
     */
    static String unfit(GptqWeight w, Device device) {
        String shape = w.int4KernelUnfit();
        if (shape != null) {
            return shape;
        }
        if (w.inFeatures() % (16L * INNER_K_TILES) != 0) {
            return "in features " + w.inFeatures() + " not a multiple of " + 16 * INNER_K_TILES;
        }
        String why = PROBED.computeIfAbsent(device.str().getString(), d -> {
            String r = probe(device);
            LOG.info(() -> "CUDA int4 kernel on " + d + ": " + (r == null ? "usable (probe agrees with the dequantized product)"
                    : "not used, GPTQ layers dequantized (" + r + ")"));
            return r == null ? "" : r;
        });
        return why.isEmpty() ? null : why;
    }

    /** Two int4 values a byte, the even column in the high nibble: q int32 [N, K] (0..15) -> uint8 [N, K/2]. */
    static Tensor nibbles(Tensor q) {
        try (PointerScope scope = new PointerScope()) {
            Tensor pairs = q.view(q.size(0), q.size(1) / 2, 2);
            Tensor packed = pairs.select(2, 0).mul(new Scalar(16)).add(pairs.select(2, 1)).to(ScalarType.Byte).contiguous();
            packed.retainReference();
            return packed;
        }
    }

    /** The kernel's form of q (int32 [N, K] on the host) on {@code device}. */
    static Tensor pack(Tensor q, Device device) {
        try (PointerScope scope = new PointerScope(); Tensor bytes = nibbles(q)) {
            IValueVector stack = new IValueVector();
            stack.push_back(new IValue(bytes.to(device, ScalarType.Byte)));
            stack.push_back(new IValue((long) INNER_K_TILES));
            op("aten::_convert_weight_to_int4pack").callBoxed(stack);
            Tensor packed = new Tensor(stack.get(0).toTensor());
            packed.retainReference();
            return packed;
        }
    }

    /** The kernel's scales and zeros of {@code w}, bf16 [K/g, N, 2] on {@code device}. */
    static Tensor scalesAndZeros(GptqWeight w, Device device) {
        try (PointerScope scope = new PointerScope(); Tensor host = w.scalesAndZeros()) {
            Tensor t = host.to(device, ScalarType.BFloat16);
            t.retainReference();
            return t;
        }
    }

    /** y = x W^T, W[n, k] = (q - 8) * scale[k / g, n] + zero[k / g, n]; x in any float type, y in x's type. */
    static Tensor linear(Tensor x, Tensor packed, long groupSize, Tensor scalesAndZeros) {
        boolean bf16 = x.scalar_type().intern() == ScalarType.BFloat16;
        try (PointerScope scope = new PointerScope()) {
            IValueVector stack = new IValueVector();
            stack.push_back(new IValue(bf16 ? x.contiguous() : x.to(ScalarType.BFloat16).contiguous()));
            stack.push_back(new IValue(packed));
            stack.push_back(new IValue(groupSize));
            stack.push_back(new IValue(scalesAndZeros));
            op("aten::_weight_int4pack_mm").callBoxed(stack);
            Tensor y = new Tensor(stack.get(0).toTensor());
            Tensor out = bf16 ? y : y.to(x.scalar_type());
            out.retainReference();
            return out;
        }
    }

    private static OperatorHandle op(String name) {
        return Dispatcher.singleton().findSchemaOrThrow(name, "");
    }

    /** An int4 kernel as the probe sees it: q int32 [N, K] (host) to its form, and y = x W^T on that form. */
    interface Kernel {
        Tensor pack(Tensor q);

        Tensor linear(Tensor x, Tensor packed, long groupSize, Tensor scalesAndZeros);
    }

    /** The CUDA kernel on {@code device}. */
    static String probe(Device device) {
        return probe(device, new Kernel() {
            @Override
            public Tensor pack(Tensor q) {
                return CudaInt4.pack(q, device);
            }

            @Override
            public Tensor linear(Tensor x, Tensor packed, long groupSize, Tensor scalesAndZeros) {
                return CudaInt4.linear(x, packed, groupSize, scalesAndZeros);
            }
        });
    }

    /**
     * Packs a [32, 256] weight (group 64; values, scales and zeros from a fixed pattern) with {@code kernel} on
     * {@code device}, multiplies two rows by it and compares with the dequantized product in float32: null when they
     * agree to bf16 precision, else what went wrong.
     */
    static String probe(Device device, Kernel kernel) {
        long n = 32;
        long k = 256;
        int g = 64;
        try (PointerScope scope = new PointerScope(); Device cpu = Torch.device("cpu")) {
            Tensor i = torch.arange(new Scalar(0), new Scalar(n), new Scalar(1), Torch.options(ScalarType.Int, cpu)).view(n, 1);
            Tensor j = torch.arange(new Scalar(0), new Scalar(k), new Scalar(1), Torch.options(ScalarType.Int, cpu)).view(1, k);
            Tensor q = i.mul(new Scalar(7)).add(j.mul(new Scalar(3))).add(j.floor_divide(new Scalar(5))).remainder(new Scalar(16))
                    .contiguous();                                                              // int32 [N, K], 0..15
            Tensor gi = torch.arange(new Scalar(0), new Scalar(k / g), new Scalar(1), Torch.options(ScalarType.Int, cpu)).view(k / g, 1);
            Tensor zeros = gi.mul(new Scalar(5)).add(i.view(1, n).mul(new Scalar(3))).remainder(new Scalar(16)).contiguous();
            Tensor scales = gi.add(i.view(1, n)).remainder(new Scalar(7)).to(ScalarType.Float).mul(new Scalar(0.003))
                    .add(new Scalar(0.01)).contiguous();                                        // float32 [K/g, N]
            Tensor gIdx = torch.arange(new Scalar(0), new Scalar(k), new Scalar(1), Torch.options(ScalarType.Long, cpu))
                    .floor_divide(new Scalar(g));
            GptqWeight w = new GptqWeight(q, scales, zeros, gIdx, g, true);
            Tensor x = torch.arange(new Scalar(0), new Scalar(2 * k), new Scalar(1), Torch.options(ScalarType.Float, cpu))
                    .mul(new Scalar(0.37)).sin().view(2, k).to(ScalarType.BFloat16);
            Tensor expected = torch.matmul(x.to(ScalarType.Float), w.dequantize(ScalarType.Float).t());
            Tensor got = kernel.linear(x.to(device, ScalarType.BFloat16), kernel.pack(q), g,
                    w.scalesAndZeros().to(device, ScalarType.BFloat16)).to(cpu, ScalarType.Float);
            double err = got.sub(expected).abs().max().item_double();
            double scale = expected.abs().max().item_double();
            return err <= 0.02 * scale + 1e-3 ? null
                    : String.format("the probe's product differs from the dequantized one by %.4g (largest value %.4g)", err, scale);
        } catch (RuntimeException e) {
            String m = String.valueOf(e.getMessage()).replace('\n', ' ');
            return "the kernel failed: " + (m.length() > 200 ? m.substring(0, 200) + "..." : m);
        }
    }
}
