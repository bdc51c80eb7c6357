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
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.Type;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's prepacked oneDNN linear ({@code mkldnn::_reorder_linear_weight} once at load, then
 * {@code mkldnn::_linear_pointwise} per call), reached through the c10 dispatcher because the Java bindings expose no
 * direct function for them.
 */
final class OneDnn {
    private static volatile OneDnn instance;

    private final OperatorHandle reorder;
    private final OperatorHandle linear;
    private final GenericList noScalars;

    private OneDnn() {
        Dispatcher d = Dispatcher.singleton();
        reorder = d.findSchemaOrThrow("mkldnn::_reorder_linear_weight", "");
        linear = d.findSchemaOrThrow("mkldnn::_linear_pointwise", "");
        // The op takes a Scalar?[] argument; an empty list must carry the Optional[Number] element type.
        noScalars = new GenericList(OptionalType.get(new Type.TypePtr(new SingletonTypePtr(NumberType.getNumberIntTypePtr().get()))));
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

    /** Reorders a [out, in] weight into oneDNN's blocked layout. */
    Tensor prepack(Tensor weight) {
        // the scope frees the IValue handles at once: each keeps the weight's storage alive until it is released, and
        // the garbage collector, which would otherwise release them, may run long after a whole model has loaded
        try (PointerScope scope = new PointerScope()) {
            IValueVector stack = new IValueVector();
            stack.push_back(new IValue(weight));
            stack.push_back(new IValue());
            reorder.callBoxed(stack);
            // The result is a reference into the stack: copy the handle before the stack goes away.
            Tensor packed = new Tensor(stack.get(0).toTensor());
            packed.retainReference();
            return packed;
        }
    }

    /** y = x W^T + b with a prepacked W; x is [T, in]. */
    Tensor linear(Tensor x, Tensor packedWeight, Tensor bias) {
        IValueVector stack = new IValueVector();
        stack.push_back(new IValue(x));
        stack.push_back(new IValue(packedWeight));
        stack.push_back(bias == null ? new IValue() : new IValue(bias));
        stack.push_back(new IValue("none"));
        stack.push_back(new IValue(noScalars));
        stack.push_back(new IValue());
        linear.callBoxed(stack);
        Tensor y = new Tensor(stack.get(0).toTensor());
        stack.close();
        return y;
    }
}
