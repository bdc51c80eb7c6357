package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.sample.SampleResult;

/**
 * Where the scheduler's events go: the intake's counts (admitted, ended), the output processor (tokens, ends) and the
 * listener's prefix-cache figures. Runs on the engine thread.
 */
final class SchedulerEvents implements Scheduler.Sink {
    private final Intake intake;
    private final OutputProcessor outputs;
    private final EngineListener listener;

    SchedulerEvents(Intake intake, OutputProcessor outputs, EngineListener listener) {
        this.intake = intake;
        this.outputs = outputs;
        this.listener = listener;
    }

    @Override
    public void admitted(Sequence s) {
        intake.admitted();
        outputs.scheduled(s.output);
    }

    @Override
    public void preempted(Sequence s) {
        outputs.preempted();
    }

    @Override
    public void prefixLookup(int queried, int hit) {
        listener.onPrefixCache(queried, hit);
    }

    @Override
    public boolean token(Sequence s, int index, SampleResult r) {
        return outputs.token(s.output, r.token(), index, r);
    }

    @Override
    public void finished(Sequence s, FinishReason reason, String message) {
        intake.ended(s.id, s.admitted);
        outputs.finished(s.output, reason, message, s.outputLength(), s.cachedPromptTokens);
    }
}
