package io.qwenserve.engine.sched;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.sample.SequenceSampler;
import io.qwenserve.engine.text.IncrementalDetokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * One request inside the engine. Owned and mutated by the {@link Scheduler} only (on the engine thread).
 *
 * <p>The known tokens are the prompt followed by the generated output; {@code computed} of them have their K/V in
 * the cache. A step schedules {@code known - computed} tokens (or a chunk of them): a whole prompt, a prefill chunk,
 * a single decode token, or a recompute after preemption are all the same thing.
 */
final class Sequence {
    enum Status { WAITING, RUNNING, FINISHED }

    final GenerationRequest request;
    final String id;
    final int[] prompt;
    final GenerationStream stream;
    final SequenceSampler sampler;
    final IncrementalDetokenizer detokenizer;
    final Set<Integer> stopIds;
    final long arrival;          // submission order, breaks priority ties (older first)
    final long submittedNanos;
    final double ntkAlpha;       // fixed at first prefill (Qwen v1 dynamic NTK)
    final int maxTokens;         // clipped so prompt + output fits the model length

    private int[] output = new int[16];
    private int outputLen;
    int computed;
    final List<Integer> blocks = new ArrayList<>();
    Status status = Status.WAITING;
    long firstScheduledNanos;
    long firstTokenNanos;
    long lastTokenNanos;
    int preemptions;
    FinishReason cancelReason; // set when a cancel or deadline is pending

    Sequence(GenerationRequest request, int[] prompt, GenerationStream stream, SequenceSampler sampler,
             IncrementalDetokenizer detokenizer, Set<Integer> stopIds, long arrival, double ntkAlpha, int maxTokens) {
        this.request = request;
        this.id = request.requestId();
        this.prompt = prompt;
        this.stream = stream;
        this.sampler = sampler;
        this.detokenizer = detokenizer;
        this.stopIds = stopIds;
        this.arrival = arrival;
        this.submittedNanos = System.nanoTime();
        this.ntkAlpha = ntkAlpha;
        this.maxTokens = maxTokens;
    }

    int priority() {
        return request.priority();
    }

    int known() {
        return prompt.length + outputLen;
    }

    int outputLength() {
        return outputLen;
    }

    int tokenAt(int i) {
        return i < prompt.length ? prompt[i] : output[i - prompt.length];
    }

    void append(int token) {
        if (outputLen == output.length) {
            output = Arrays.copyOf(output, output.length * 2);
        }
        output[outputLen++] = token;
    }

    int[] blockTable() {
        int[] t = new int[blocks.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = blocks.get(i);
        }
        return t;
    }

    @Override
    public String toString() {
        return "Sequence[" + id + ", " + status + ", known=" + known() + ", computed=" + computed + ", blocks=" + blocks.size() + "]";
    }
}
