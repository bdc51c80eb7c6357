package io.qwenserve.engine.sched;

import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.lora.LoraAdapters;
import io.qwenserve.engine.lora.LoraWeights;
import io.qwenserve.engine.model.ForwardBatch;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.model.StepBuffer;
import io.qwenserve.engine.sample.SampleResult;
import io.qwenserve.engine.sample.Sampler;
import io.qwenserve.engine.sample.SamplingRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Turns a {@link SchedulerOutput} into one model step and one sampling pass. Makes no scheduling decision.
 *
 * <p>With LoRA adapters in the step, the sequences run grouped by adapter (decodes first as scheduled, then prefill
 * chunks, each part ordered by adapter) so that every adapter's rows are contiguous ranges; the sampled tokens are
 * handed back in the scheduler's order.
 */
final class ModelRunner {
    private final QwenModel model;
    private final PagedKvCache cache;
    private final Sampler sampler;
    private final LoraAdapters adapters;
    private final Supplier<Set<String>> adaptersInUse;

    ModelRunner(QwenModel model, PagedKvCache cache, Sampler sampler) {
        this(model, cache, sampler, LoraAdapters.none(), Set::of);
    }

    /** @param adaptersInUse the adapters of running sequences, which loading another adapter must not evict */
    ModelRunner(QwenModel model, PagedKvCache cache, Sampler sampler, LoraAdapters adapters, Supplier<Set<String>> adaptersInUse) {
        this.model = model;
        this.cache = cache;
        this.sampler = sampler;
        this.adapters = adapters;
        this.adaptersInUse = adaptersInUse;
    }

    ModelRunnerOutput execute(SchedulerOutput out) {
        List<SchedulerOutput.Entry> entries = out.entries();
        boolean anyAdapter = entries.stream().anyMatch(e -> e.adapter() != null);
        Integer[] order = new Integer[entries.size()]; // run position -> scheduler position
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (anyAdapter) { // decodes stay first (the scheduler lists them first), each group sorted by adapter
            Arrays.sort(order, Comparator.comparing((Integer i) -> !isDecode(entries.get(i)))
                    .thenComparing(i -> entries.get(i).adapter(), Comparator.nullsFirst(Comparator.naturalOrder())));
        }
        int[] tokens = new int[out.numTokens()];
        List<ForwardBatch.Slice> slices = new ArrayList<>(entries.size());
        List<LoraWeights> loras = new ArrayList<>(anyAdapter ? entries.size() : 0);
        List<SamplingRow> rows = new ArrayList<>();
        List<Integer> sampledAt = new ArrayList<>(); // scheduler position of each sampling row
        Set<String> inUse = anyAdapter ? adaptersInUse.get() : Set.of();
        int t = 0;
        for (int i : order) {
            SchedulerOutput.Entry e = entries.get(i);
            System.arraycopy(e.tokens(), 0, tokens, t, e.numTokens());
            t += e.numTokens();
            slices.add(new ForwardBatch.Slice(e.numTokens(), e.past() + e.numTokens(), e.blockTable(), e.ntkAlpha(),
                    e.sample() ? ForwardBatch.Logits.LAST : ForwardBatch.Logits.NONE));
            if (anyAdapter) {
                loras.add(e.adapter() == null ? null : adapters.weights(e.adapter(), inUse));
            }
            if (e.sample()) {
                rows.add(e.sampling());
                sampledAt.add(i);
            }
        }
        // the step's inputs, the forward pass's and the sampler's, go to the device in one copy; the ids come back in one
        try (PointerScope step = new PointerScope()) {
            StepBuffer buf = new StepBuffer();
            QwenModel.Step forward = model.prepare(new ForwardBatch(tokens, slices, loras), cache, buf);
            Sampler.Prepared sampling = rows.isEmpty() ? null : sampler.prepare(rows, model.config().vocabSize(), buf);
            model.upload(forward, buf);
            Tensor logits = model.forward(forward, buf, cache);
            if (rows.isEmpty()) {
                return ModelRunnerOutput.NONE;
            }
            SampleResult[] sampled = sampler.sample(logits, rows, sampling, buf);
            if (!anyAdapter) {
                return new ModelRunnerOutput(Arrays.asList(sampled));
            }
            return new ModelRunnerOutput(inSchedulerOrder(entries, sampled, sampledAt));
        }
    }

    private static boolean isDecode(SchedulerOutput.Entry e) {
        return e.numTokens() == 1 && e.sample();
    }

    /** The sampled results in the order of the scheduler's sampling entries. */
    private static List<SampleResult> inSchedulerOrder(List<SchedulerOutput.Entry> entries, SampleResult[] sampled,
                                                       List<Integer> sampledAt) {
        SampleResult[] byEntry = new SampleResult[entries.size()];
        for (int k = 0; k < sampled.length; k++) {
            byEntry[sampledAt.get(k)] = sampled[k];
        }
        List<SampleResult> out = new ArrayList<>(sampled.length);
        for (SampleResult r : byEntry) {
            if (r != null) {
                out.add(r);
            }
        }
        return out;
    }
}
