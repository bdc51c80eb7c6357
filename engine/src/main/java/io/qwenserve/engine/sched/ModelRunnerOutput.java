package io.qwenserve.engine.sched;

import io.qwenserve.engine.sample.SampleResult;
import java.util.List;

/** The sampled token of every entry with {@code sample} set, in entry order. */
record ModelRunnerOutput(List<SampleResult> sampled) {
    static final ModelRunnerOutput NONE = new ModelRunnerOutput(List.of());

    ModelRunnerOutput {
        sampled = List.copyOf(sampled);
    }
}
