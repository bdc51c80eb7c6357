package io.qwenserve.engine.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * libtorch's quantized CPU linear kernels, reached through the c10 dispatcher (the Java bindings have no direct
 * functions for them): fbgemm int8 ({@code quantized::linear_prepack} at load, {@code quantized::linear_dynamic} per
 * call), weight-only int8 ({@code aten::_weight_int8pack_mm}) and the int4 groupwise kernel
 * ({@code aten::_convert_weight_to_int4pack_for_cpu} at load, {@code aten::_weight_int4pack_mm_for_cpu} per call). Results read from a dispatcher stack are references into it and
 * are copied before the stack goes away.
 */
final class QuantOps {
    private static volatile QuantOps instance;

    private final OperatorHandle int8Prepack;
    private final OperatorHandle int8Linear;
    private final OperatorHandle int4Convert;
    private final OperatorHandle int4Mm;
    private final OperatorHandle int8WeightOnlyMm;
    /**
     * fbgemm's u8*s8 products saturate 16-bit intermediates on CPUs without VNNI unless activations use 7 bits
     * ({@code reduce_range}); with VNNI the full range is exact.
     */
    private final boolean reduceRange;

    private QuantOps() {
        Dispatcher d = Dispatcher.singleton();
        int8Prepack = d.findSchemaOrThrow("quantized::linear_prepack", "");
        int8Linear = d.findSchemaOrThrow("quantized::linear_dynamic", "");
        int4Convert = d.findSchemaOrThrow("aten::_convert_weight_to_int4pack_for_cpu", "");
        int4Mm = d.findSchemaOrThrow("aten::_weight_int4pack_mm_for_cpu", "");
        int8WeightOnlyMm = d.findSchemaOrThrow("aten::_weight_int8pack_mm", "");
        reduceRange = !cpuHasVnni();
        // a singleton: a PointerScope open around the first use must not free its handles
        for (OperatorHandle h : new OperatorHandle[] {int8Prepack, int8Linear, int4Convert, int4Mm, int8WeightOnlyMm}) {
            h.retainReference();
        }
    }

    static QuantOps get() {
        if (instance == null) {
            synchronized (QuantOps.class) {
                if (instance == null) {
                    instance = new QuantOps();
                }
            }
        }
        return instance;
    }

    private static boolean cpuHasVnni() {
        try {
            String info = Files.readString(Path.of("/proc/cpuinfo"));
            return info.contains("avx512_vnni") || info.contains("avx_vnni");
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Quantizes a float [out, in] weight symmetrically per output row to int8 (scale = max|w| / 127) and packs it with
     * its fp32 bias for fbgemm. Only one layer's fp32 copy exists at a time.
     */
    IValue int8Pack(Tensor weight, Tensor bias) {
        // the row maxima come from the stored weight (no |w| temporary): the fp32 copy below is the only layer-sized one
        try (PointerScope scope = new PointerScope();
             Tensor hi = weight.amax(new long[] {1}, false).to(ScalarType.Float);
             Tensor lo = weight.amin(new long[] {1}, false).to(ScalarType.Float).neg();
             Tensor amax = torch.maximum(hi, lo);
             Tensor scaleF = amax.div(new Scalar(127.0)).clamp_min(new Scalar(1e-10));
             Tensor wf = weight.to(ScalarType.Float).contiguous();
             Tensor scale = scaleF.to(ScalarType.Double);
             Tensor zp = torch.zeros(new long[] {weight.size(0)}, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Long)));
             Tensor q = torch.quantize_per_channel(wf, scale, zp, 0, ScalarType.QInt8);
             Tensor bf = bias == null ? null : bias.to(ScalarType.Float).contiguous()) {
            IValueVector stack = new IValueVector();
            stack.push_back(new IValue(q));
            stack.push_back(bf == null ? new IValue() : new IValue(bf));
            int8Prepack.callBoxed(stack);
            IValue packed = new IValue(stack.get(0));
            packed.retainReference();
            return packed;
        }
    }

    /** y = x W^T + b on fbgemm-packed int8 weights; x in any float type, y in x's type. */
    Tensor int8Linear(Tensor x, IValue packed) {
        boolean f32 = x.scalar_type().intern() == ScalarType.Float;
        Tensor xf = f32 ? x : x.to(ScalarType.Float);
        IValueVector stack = new IValueVector();
        stack.push_back(new IValue(xf));
        stack.push_back(packed);
        stack.push_back(new IValue(reduceRange));
        int8Linear.callBoxed(stack);
        Tensor y = new Tensor(stack.get(0).toTensor());
        stack.close();
        if (f32) {
            return y;
        }
        Tensor out = y.to(x.scalar_type());
        y.close();
        xf.close();
        return out;
    }

    /**
     * A weight-only int8 form: {@code q} int8 [out, in] = round(w / scale) per output row, {@code scales} [out] in the
     * activation dtype the kernel will see. The scale (max|w| / 127) is rounded to that dtype first and the weight
     * quantized with the rounded value, so the stored scale is exact.
     */
    record Int8WeightOnly(Tensor q, Tensor scales) implements AutoCloseable {
        @Override
        public void close() {
            q.close();
            scales.close();
        }
    }

    /**
     * Whether the weight-only int8 kernel takes {@code in} input features with activations of {@code activations}:
     * its 16-bit paths read 16 inputs at a time (other sizes crash or return garbage, measured with libtorch 2.10).
     */
    static boolean int8WeightOnlyFits(long in, ScalarType activations) {
        return activations == ScalarType.Float || in % 16 == 0;
    }

    /** Quantizes a float [out, in] weight for {@link #int8WeightOnlyLinear}; {@code activations} is the compute dtype. */
    Int8WeightOnly int8WeightOnlyPack(Tensor weight, ScalarType activations) {
        try (PointerScope scope = new PointerScope()) {
            Tensor hi = weight.amax(new long[] {1}, true).to(ScalarType.Float);
            Tensor lo = weight.amin(new long[] {1}, true).to(ScalarType.Float).neg();
            Tensor scale = torch.maximum(hi, lo).div(new Scalar(127.0)).clamp_min(new Scalar(1e-10)).to(activations);
            // one float32 copy of the layer, quantized in place (the output head is the largest: 545 MB for the 0.5B shape)
            Tensor wf = weight.to(ScalarType.Float, false, true, new MemoryFormatOptional()); // a copy even for fp32
            wf.div_(scale.to(ScalarType.Float)).round_().clamp_(new ScalarOptional(new Scalar(-127)), new ScalarOptional(new Scalar(127)));
            Tensor q = wf.to(ScalarType.Char).contiguous();
            wf.close();
            Tensor s = scale.view(-1).contiguous();
            q.retainReference();
            s.retainReference();
            return new Int8WeightOnly(q, s);
        }
    }

    /** y = x W^T on a weight-only int8 weight; x in any float type (cast to the scales' dtype), y in x's type. */
    Tensor int8WeightOnlyLinear(Tensor x, Int8WeightOnly w) {
        ScalarType st = w.scales().scalar_type().intern();
        boolean same = x.scalar_type().intern() == st;
        Tensor xc = same ? x.contiguous() : x.to(st).contiguous();
        IValueVector stack = new IValueVector();
        stack.push_back(new IValue(xc));
        stack.push_back(new IValue(w.q()));
        stack.push_back(new IValue(w.scales()));
        int8WeightOnlyMm.callBoxed(stack);
        Tensor y = new Tensor(stack.get(0).toTensor());
        stack.close();
        if (same) {
            return y;
        }
        Tensor out = y.to(x.scalar_type());
        y.close();
        return out;
    }

    /** Packs int4 values q (int32 [N, K], 0..15) for the CPU kernel: uint8 [N, K/2]. */
    Tensor int4Pack(Tensor q) {
        try (PointerScope scope = new PointerScope()) {
            IValueVector stack = new IValueVector();
            stack.push_back(new IValue(q));
            stack.push_back(new IValue(8L));
            int4Convert.callBoxed(stack);
            Tensor packed = new Tensor(stack.get(0).toTensor());
            packed.retainReference();
            return packed;
        }
    }

    /**
     * y = x W^T with W[n, k] = (q - 8) * scale[k / g, n] + zero[k / g, n]; {@code scalesAndZeros} bf16 [K/g, N, 2].
     * Activations run in bf16 (the kernel is slow in fp32); y comes back in x's type.
     */
    Tensor int4Linear(Tensor x, Tensor packed, long groupSize, Tensor scalesAndZeros) {
        boolean bf16 = x.scalar_type().intern() == ScalarType.BFloat16;
        Tensor xb = bf16 ? x.contiguous() : x.to(ScalarType.BFloat16).contiguous();
        IValueVector stack = new IValueVector();
        stack.push_back(new IValue(xb));
        stack.push_back(new IValue(packed));
        stack.push_back(new IValue(groupSize));
        stack.push_back(new IValue(scalesAndZeros));
        int4Mm.callBoxed(stack);
        Tensor y = new Tensor(stack.get(0).toTensor());
        stack.close();
        if (bf16) {
            return y;
        }
        Tensor out = y.to(x.scalar_type());
        y.close();
        return out;
    }
}
