package io.qwenserve.engine.train;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The LoRA update of one linear layer: {@code y += scale * B (A dropout(x))}, i.e. {@code W' = W + scale * B A}.
 *
 * @param a       float32 [r, in] (PEFT's {@code lora_A.weight})
 * @param b       float32 [out, r] (PEFT's {@code lora_B.weight})
 * @param scale   {@code lora_alpha / r}
 * @param dropout probability of dropping an input feature while training
 */
public record LoraPair(Tensor a, Tensor b, double scale, double dropout) implements AutoCloseable {

    /**
     * PEFT's initialisation: A uniform in +-1/sqrt(in) (kaiming_uniform with a = sqrt(5)), B zero, so the adapter
     * starts as the identity update. Draws from libtorch's global generator (seed it first).
     */
    public static LoraPair init(long in, long out, int r, double scale, double dropout) {
        double bound = 1.0 / Math.sqrt(in);
        Tensor a = torch.rand(r, in).mul_(new Scalar(2 * bound)).sub_(new Scalar(bound));
        Tensor b = torch.zeros(out, r);
        return new LoraPair(a, b, scale, dropout);
    }

    public int rank() {
        return (int) a.size(0);
    }

    public long in() {
        return a.size(1);
    }

    public long out() {
        return b.size(0);
    }

    /** {@code scale * B A dropout(x)} in the dtype of {@code x}. */
    public Tensor apply(Tensor x, boolean training) {
        ScalarType dt = x.scalar_type();
        Tensor in = training && dropout > 0 ? torch.dropout(x, dropout, true) : x;
        Tensor down = torch.linear(in, cast(a, dt));
        return torch.linear(down, cast(b, dt)).mul(new Scalar(scale));
    }

    /** {@code scale * B A} as a float32 [out, in] delta (for merging). */
    public Tensor delta() {
        try (PointerScope scope = new PointerScope()) {
            Tensor d = torch.matmul(b.detach(), a.detach()).mul_(new Scalar(scale));
            d.retainReference();
            return d;
        }
    }

    private static Tensor cast(Tensor t, ScalarType dt) {
        return TensorIO.sameType(t.scalar_type(), dt) ? t : t.to(dt);
    }

    @Override
    public void close() {
        a.close();
        b.close();
    }
}
