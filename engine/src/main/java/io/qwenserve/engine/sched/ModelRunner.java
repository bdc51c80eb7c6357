package io.qwenserve.engine.sched;

import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.model.ForwardBatch;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.sample.Sampler;
import io.qwenserve.engine.sample.SamplingRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** Turns a {@link SchedulerOutput} into one model step and one sampling pass. Makes no scheduling decision. */
final class ModelRunner {
    private final QwenModel model;
    private final PagedKvCache cache;
    private final Sampler sampler;

    ModelRunner(QwenModel model, PagedKvCache cache, Sampler sampler) {
        this.model = model;
        this.cache = cache;
        this.sampler = sampler;
    }

    ModelRunnerOutput execute(SchedulerOutput out) {
        int[] tokens = new int[out.numTokens()];
        List<ForwardBatch.Slice> slices = new ArrayList<>(out.entries().size());
        List<SamplingRow> rows = new ArrayList<>();
        int t = 0;
        for (SchedulerOutput.Entry e : out.entries()) {
            System.arraycopy(e.tokens(), 0, tokens, t, e.numTokens());
            t += e.numTokens();
            slices.add(new ForwardBatch.Slice(e.numTokens(), e.past() + e.numTokens(), e.blockTable(), e.ntkAlpha(),
                    e.sample() ? ForwardBatch.Logits.LAST : ForwardBatch.Logits.NONE));
            if (e.sample()) {
                rows.add(e.sampling());
            }
        }
        try (Tensor logits = model.forward(new ForwardBatch(tokens, slices), cache)) {
            return rows.isEmpty() ? ModelRunnerOutput.NONE : new ModelRunnerOutput(Arrays.asList(sampler.sample(logits, rows)));
        }
    }
}
