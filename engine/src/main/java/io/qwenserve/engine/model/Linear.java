package io.qwenserve.engine.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * One linear layer, y = x W^T + b, with its weight held in the form its kernel wants. The model calls {@link #apply}
 * and never sees which kernel runs.
 */
public final class Linear implements AutoCloseable {
    private final LinearKernel kernel;
    private final Tensor weight; // [out, in], or the oneDNN-packed form of it
    private final Tensor bias;   // [out] or null
    private final long inFeatures;
    private final long outFeatures;

    /** Takes ownership of {@code weight} and {@code bias} ([out, in] and [out], already in the compute dtype). */
    public Linear(Tensor weight, Tensor bias, LinearKernel kernel) {
        this.kernel = kernel;
        this.outFeatures = weight.size(0);
        this.inFeatures = weight.size(1);
        this.bias = bias;
        if (kernel == LinearKernel.ONEDNN_PREPACKED) {
            this.weight = OneDnn.get().prepack(weight);
            weight.close();
        } else {
            this.weight = weight;
        }
    }

    /** x: [T, in] -> [T, out]. */
    public Tensor apply(Tensor x) {
        return switch (kernel) {
            case ONEDNN_PREPACKED -> OneDnn.get().linear(x, weight, bias);
            case PLAIN -> bias == null ? torch.linear(x, weight) : torch.linear(x, weight, new TensorOptional(bias));
        };
    }

    public LinearKernel kernel() {
        return kernel;
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    /** Bytes of weight read per call (for bandwidth figures). */
    public long weightBytes(Precision p) {
        return inFeatures * outFeatures * p.bytes();
    }

    @Override
    public void close() {
        weight.close();
        if (bias != null) {
            bias.close();
        }
    }
}
