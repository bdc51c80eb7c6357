package io.qwenserve.engine.train;

/**
 * Dynamic loss scaling for fp16 training (what the Trainer's {@code --fp16} does through a grad scaler): the loss is
 * multiplied by the scale before the backward pass so that small fp16 gradients do not flush to zero; gradients are
 * divided by it before clipping. A step whose gradients hold inf or NaN is skipped and the scale halves; after
 * {@link #GROWTH_INTERVAL} good steps in a row it doubles. With bf16 or fp32 the scale stays 1.
 */
public final class LossScaler {
    static final int GROWTH_INTERVAL = 2000;
    private double scale;
    private final boolean enabled;
    private int goodSteps;

    public LossScaler(boolean enabled) {
        this.enabled = enabled;
        this.scale = enabled ? 65536.0 : 1.0;
    }

    /** A scaler resumed from a checkpoint. */
    public LossScaler(boolean enabled, double scale, int goodSteps) {
        this.enabled = enabled;
        this.scale = enabled ? scale : 1.0;
        this.goodSteps = goodSteps;
    }

    public int goodSteps() {
        return goodSteps;
    }

    public boolean enabled() {
        return enabled;
    }

    public double scale() {
        return scale;
    }

    /** Records whether the step's gradients were finite; returns whether the optimizer step may run. */
    public boolean update(boolean finite) {
        if (!enabled) {
            return finite;
        }
        if (!finite) {
            scale = Math.max(1.0, scale / 2);
            goodSteps = 0;
            return false;
        }
        if (++goodSteps >= GROWTH_INTERVAL) {
            scale *= 2;
            goodSteps = 0;
        }
        return true;
    }
}
