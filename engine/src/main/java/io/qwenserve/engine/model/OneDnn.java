package io.qwenserve.engine.model;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.NumberType;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.OptionalType;
import org.bytedeco.pytorch.SingletonTypePtr;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRef;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Type;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * libtorch's prepacked oneDNN linear ({@code mkldnn::_reorder_linear_weight} once at load, then
 * {@code mkldnn::_linear_pointwise} per call), reached through the c10 dispatcher because the Java bindings expose no
 * direct function for them.
 *
 * <p>Out-features are padded to a multiple of {@value #OUT_ALIGN} with zero rows. {@code _linear_pointwise} runs
 * oneDNN's inner product on the packed weight without reordering it (ideep's {@code reorder_weight=false}), so the
 * layout chosen at packing must be the one the call's primitive expects. For fp32 it is not when the out-features,
 * rounded up to 16, are not a multiple of 64 (and exceed 32): every output is then wrong (measured here on AVX-512:
 * out 33-48, 65-112, 129-176, ... fail for any in-features and batch; a whole multiple of 64 never does). bf16 is not
 * affected. Each packed weight is also checked once against {@code torch.linear} on the plain weight
 * ({@link #agrees}); a layer whose check fails does not hold this kernel.
 */
final class OneDnn {
    /** Out-features of a packed weight are padded to a multiple of this. */
    static final int OUT_ALIGN = 64;

    private static volatile OneDnn instance;

    /**
     * A weight in oneDNN's layout, its rows padded to {@code paddedOut}; {@code bias} padded alike (or null). Results
     * are narrowed back to {@code outFeatures} columns.
     */
    record Packed(Tensor weight, Tensor bias, long outFeatures, long paddedOut) implements AutoCloseable {
        @Override
        public void close() {
            weight.close();
            if (bias != null) {
                bias.close();
            }
        }
    }

    private final OperatorHandle reorder;
    private final OperatorHandle linear;
    private final GenericList noScalars;

    private OneDnn() {
        Dispatcher d = Dispatcher.singleton();
        reorder = d.findSchemaOrThrow("mkldnn::_reorder_linear_weight", "");
        linear = d.findSchemaOrThrow("mkldnn::_linear_pointwise", "");
        // The op takes a Scalar?[] argument; an empty list must carry the Optional[Number] element type.
        noScalars = new GenericList(OptionalType.get(new Type.TypePtr(new SingletonTypePtr(NumberType.getNumberIntTypePtr().get()))));
        // a singleton: a PointerScope open around the first use must not free its handles
        reorder.retainReference();
        linear.retainReference();
        noScalars.retainReference();
    }

    /** The shared instance, or null when this libtorch build has no oneDNN. */
    static OneDnn get() {
        if (instance == null) {
            synchronized (OneDnn.class) {
                if (instance == null && torch.globalContext().userEnabledMkldnn()) {
                    try {
                        instance = new OneDnn();
                    } catch (RuntimeException e) {
                        return null;
                    }
                }
            }
        }
        return instance;
    }

    /**
     * Reorders a [out, in] weight (and its bias, when not null) into oneDNN's blocked layout, rows padded to a
     * multiple of {@link #OUT_ALIGN}. The inputs stay owned by the caller.
     */
    Packed prepack(Tensor weight, Tensor bias) {
        long out = weight.size(0);
        long padded = (out + OUT_ALIGN - 1) / OUT_ALIGN * OUT_ALIGN;
        // the scope frees the IValue handles at once: each keeps the weight's storage alive until it is released, and
        // the garbage collector, which would otherwise release them, may run long after a whole model has loaded
        try (PointerScope scope = new PointerScope()) {
            Tensor w = padded == out ? weight : padRows(weight, padded);
            IValueVector stack = new IValueVector();
            stack.push_back(new IValue(w));
            stack.push_back(new IValue());
            reorder.callBoxed(stack);
            // The result is a reference into the stack: copy the handle before the stack goes away.
            Tensor packed = new Tensor(stack.get(0).toTensor());
            packed.retainReference();
            Tensor b = null;
            if (bias != null) {
                b = padded == out ? new Tensor(bias) : padRows(bias, padded);
                b.retainReference();
            }
            return new Packed(packed, b, out, padded);
        }
    }

    private static Tensor padRows(Tensor t, long rows) {
        long[] shape = Torch.shape(t);
        shape[0] = rows - shape[0];
        Tensor zeros = torch.zeros(shape, Torch.options(t.scalar_type(), t.device()));
        return torch.cat(new TensorArrayRef(new TensorVector(t, zeros)), 0);
    }

    /**
     * Whether the packed weight computes what {@code torch.linear} computes on the plain weight, on two fixed
     * activation rows: the largest difference must stay within rounding ({@code 1e-3} of the largest output in
     * fp32, {@code 5e-2} in 16-bit types; a wrong layout is off by the size of the outputs themselves).
     */
    boolean agrees(Packed p, Tensor weight, Tensor bias) {
        try (PointerScope scope = new PointerScope()) {
            long in = weight.size(1);
            Tensor x = torch.arange(new Scalar(0), new Scalar(2 * in), new Scalar(1), Torch.options(ScalarType.Float, weight.device()))
                    .mul(new Scalar(0.7)).sin().view(2, in).to(weight.scalar_type());
            Tensor expected = (bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias)))
                    .to(ScalarType.Float);
            Tensor actual = linear(x, p).to(ScalarType.Float);
            double err = actual.sub(expected).abs().max().item_double();
            double scale = expected.abs().max().item_double();
            double tol = weight.scalar_type().intern() == ScalarType.Float ? 1e-3 : 5e-2;
            return err <= tol * scale + 1e-6;
        }
    }

    /** y = x W^T + b with a prepacked W; x is [T, in], y [T, out] (a view of the padded result when padded). */
    Tensor linear(Tensor x, Packed p) {
        IValueVector stack = new IValueVector();
        stack.push_back(new IValue(x));
        stack.push_back(new IValue(p.weight()));
        stack.push_back(p.bias() == null ? new IValue() : new IValue(p.bias()));
        stack.push_back(new IValue("none"));
        stack.push_back(new IValue(noScalars));
        stack.push_back(new IValue());
        linear.callBoxed(stack);
        Tensor y = new Tensor(stack.get(0).toTensor());
        stack.close();
        if (p.paddedOut() == p.outFeatures()) {
            return y;
        }
        Tensor narrowed = y.narrow(1, 0, p.outFeatures());
        y.close();
        return narrowed;
    }
}
