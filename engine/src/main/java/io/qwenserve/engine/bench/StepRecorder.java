package io.qwenserve.engine.bench;

import io.qwenserve.engine.model.Linear;
import io.qwenserve.engine.sched.EngineListener;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Records every engine step ({@link EngineListener#onStep}) so that a benchmark can read per-step figures: the time of
 * a decode step of a given batch size and the part of it spent in the linear layers, timed inside the same step
 * ({@link Linear#timeCalls}; steps run one at a time on the engine thread, which alone calls the model meanwhile).
 */
public final class StepRecorder implements EngineListener {
    /** One engine step, as the engine reports it. */
    public record Step(int numSeqs, int numTokens, int numDecode, long forwardNanos, long stepNanos, long linearNanos) {
        /** Every scheduled token was a one-token decode. */
        public boolean pureDecode() {
            return numDecode == numTokens;
        }
    }

    private final ConcurrentLinkedQueue<Step> steps = new ConcurrentLinkedQueue<>();

    @Override
    public void onStep(int numSeqs, int numTokens, int numDecode, long forwardNanos, long stepNanos) {
        steps.add(new Step(numSeqs, numTokens, numDecode, forwardNanos, stepNanos, Linear.takeTimedNanos()));
    }

    /** The steps recorded since the last call, oldest first. */
    public List<Step> drain() {
        List<Step> out = new ArrayList<>();
        for (Step s; (s = steps.poll()) != null; ) {
            out.add(s);
        }
        return out;
    }

    /** Pure decode steps of exactly {@code seqs} sequences. */
    public static List<Step> decodeSteps(List<Step> steps, int seqs) {
        return steps.stream().filter(s -> s.pureDecode() && s.numSeqs() == seqs).toList();
    }

    /** Median of whole-step milliseconds, NaN when empty. */
    public static double medianStepMs(List<Step> steps) {
        return median(steps.stream().mapToDouble(s -> s.stepNanos() / 1e6).toArray());
    }

    /** Median of model-runner milliseconds (forward pass and sampling), NaN when empty. */
    public static double medianForwardMs(List<Step> steps) {
        return median(steps.stream().mapToDouble(s -> s.forwardNanos() / 1e6).toArray());
    }

    /** Median of the milliseconds each step spent in its linear layers, NaN when empty. */
    public static double medianLinearMs(List<Step> steps) {
        return median(steps.stream().mapToDouble(s -> s.linearNanos() / 1e6).toArray());
    }

    /** Median over steps of the step's milliseconds outside its own linear layers, NaN when empty. */
    public static double medianStepMsOutsideLinears(List<Step> steps) {
        return median(steps.stream().mapToDouble(s -> (s.stepNanos() - s.linearNanos()) / 1e6).toArray());
    }

    /** Median over steps of the model runner's milliseconds outside the step's linear layers, NaN when empty. */
    public static double medianForwardMsOutsideLinears(List<Step> steps) {
        return median(steps.stream().mapToDouble(s -> (s.forwardNanos() - s.linearNanos()) / 1e6).toArray());
    }

    /** Decode tokens per second over the given pure decode steps: their tokens over their summed step time. */
    public static double decodeTokensPerSecond(List<Step> steps) {
        long tokens = steps.stream().mapToLong(Step::numDecode).sum();
        long nanos = steps.stream().mapToLong(Step::stepNanos).sum();
        return nanos == 0 ? Double.NaN : tokens / (nanos / 1e9);
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
