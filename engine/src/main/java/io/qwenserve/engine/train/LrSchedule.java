package io.qwenserve.engine.train;

/**
 * Linear warmup then cosine decay to zero, as the Hugging Face Trainer's {@code cosine} schedule: warmup steps
 * {@code ceil(totalSteps * warmupRatio)}; optimizer step s (from 0) runs at {@code lr * s / warmup} during warmup, then
 * at {@code lr * 0.5 * (1 + cos(pi * (s - warmup) / (total - warmup)))}.
 */
public record LrSchedule(double lr, int totalSteps, int warmupSteps) {

    public static LrSchedule of(double lr, int totalSteps, double warmupRatio) {
        return new LrSchedule(lr, totalSteps, (int) Math.ceil(totalSteps * warmupRatio));
    }

    /** The learning rate of optimizer step {@code step} (0-based). */
    public double at(int step) {
        if (step < warmupSteps) {
            return lr * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return lr * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
    }
}
