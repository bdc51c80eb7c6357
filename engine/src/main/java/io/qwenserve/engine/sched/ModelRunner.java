package io.qwenserve.engine.sched;

import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.model.ForwardBatch;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.sample.Sampler;
import io.qwenserve.engine.sample.SequenceSampler;
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
        int total = out.numTokens();
        int[] tokens = new int[total];
        List<ForwardBatch.Slice> slices = new ArrayList<>(out.entries().size());
        List<SequenceSampler> samplers = new ArrayList<>();
        int t = 0;
        for (SchedulerOutput.Entry e : out.entries()) {
            Sequence s = e.seq();
            for (int i = 0; i < e.numTokens(); i++) {
                tokens[t++] = s.tokenAt(s.computed + i);
            }
            slices.add(new ForwardBatch.Slice(e.numTokens(), s.computed + e.numTokens(), s.blockTable(), s.ntkAlpha,
                    e.sample() ? ForwardBatch.Logits.LAST : ForwardBatch.Logits.NONE));
            if (e.sample()) {
                samplers.add(s.sampler);
            }
        }
        try (Tensor logits = model.forward(new ForwardBatch(tokens, slices), cache)) {
            if (samplers.isEmpty()) {
                return new ModelRunnerOutput(List.of());
            }
            return new ModelRunnerOutput(Arrays.asList(sampler.sample(logits, samplers)));
        }
    }

}
