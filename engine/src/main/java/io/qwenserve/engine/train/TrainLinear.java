package io.qwenserve.engine.train;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One linear layer of the trainable model, named as in the checkpoint ({@code model.layers.0.self_attn.q_proj}):
 * a float weight (an fp32 master that trains, or a frozen copy in the compute dtype) or a frozen {@link FrozenInt4},
 * an optional bias and an optional {@link LoraPair}.
 */
public final class TrainLinear implements AutoCloseable {
    private final String name;
    private final long in;
    private final long out;
    private final Tensor weight; // [out, in] or null
    private final FrozenInt4 int4; // or null
    private final Tensor bias;   // [out] or null
    private LoraPair lora;

    TrainLinear(String name, long in, long out, Tensor weight, FrozenInt4 int4, Tensor bias) {
        this.name = name;
        this.in = in;
        this.out = out;
        this.weight = weight;
        this.int4 = int4;
        this.bias = bias;
    }

    /** The module name, e.g. {@code transformer.h.0.attn.c_attn}. */
    public String name() {
        return name;
    }

    /** The last part of the name, which LoRA target lists match ({@code c_attn}, {@code q_proj}). */
    public String shortName() {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    public long in() {
        return in;
    }

    public long out() {
        return out;
    }

    /** The float weight (the parameter when it trains), or null for an int4 weight. */
    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    public FrozenInt4 int4() {
        return int4;
    }

    public LoraPair lora() {
        return lora;
    }

    void attach(LoraPair pair) {
        if (pair.in() != in || pair.out() != out) {
            throw new IllegalArgumentException(name + ": LoRA A/B of shape [" + pair.rank() + ", " + pair.in() + "] / ["
                    + pair.out() + ", " + pair.rank() + "] do not fit a [" + out + ", " + in + "] weight");
        }
        if (lora != null) {
            lora.close();
        }
        lora = pair;
    }

    /** {@code x W^T + b (+ LoRA)} in the dtype of {@code x}. */
    public Tensor apply(Tensor x, boolean training) {
        ScalarType dt = x.scalar_type();
        Tensor w = int4 != null ? int4.dequantize(dt) : cast(weight, dt);
        Tensor y = torch.linear(x, w, bias == null ? new TensorOptional() : new TensorOptional(cast(bias, dt)));
        return lora == null ? y : y.add(lora.apply(x, training));
    }

    private static Tensor cast(Tensor t, ScalarType dt) {
        return TensorIO.sameType(t.scalar_type(), dt) ? t : t.to(dt);
    }

    @Override
    public void close() {
        if (weight != null) {
            weight.close();
        }
        if (int4 != null) {
            int4.close();
        }
        if (bias != null) {
            bias.close();
        }
        if (lora != null) {
            lora.close();
        }
    }
}
