package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestDevice;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Transfers;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What one engine step at batch 1 copies between the host and the device: its inputs (the forward pass's and the
 * sampler's) in one copy, the sampled id (and log probabilities) back in one, whatever the sampling parameters. Counted
 * by {@link Transfers} over whole generations: prefill and decode steps, after a first request that grew the RoPE table.
 * A model split over two devices copies the inputs once to each device and its hidden state once between them.
 */
@Tag(TestDevice.TAG)
class StepTransfersTest {

    @ParameterizedTest
    @ValueSource(strings = {"greedy", "top-p with penalties and logprobs", "top-k", "temperature only"})
    void oneCopyEachWayPerStepAtBatchOne(String kind) throws Exception {
        SamplingOptions.Builder b = SamplingOptions.builder().maxTokens(12).ignoreEos(true).seed(3L);
        SamplingOptions sampling = switch (kind) {
            case "greedy" -> SamplingOptions.greedy(12).toBuilder().ignoreEos(true).build();
            case "top-p with penalties and logprobs" -> b.temperature(0.8).topP(0.8).topK(0).repetitionPenalty(1.1)
                    .presencePenalty(0.2).frequencyPenalty(0.1).logprobs(3).build();
            case "top-k" -> b.temperature(1.0).topK(5).topP(1.0).repetitionPenalty(1.0).build();
            default -> b.temperature(1.2).topK(0).topP(1.0).repetitionPenalty(1.0).build();
        };
        try (LoadedModel m = LoadedModel.load(TestModels.tiny(Architecture.QWEN2), TestDevice.options(Precision.F32));
             Engine e = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(256).withMaxModelLen(128),
                     EngineListener.NONE)) {
            Completion.read(e.submit(GenerationRequest.of("warm-up", new Prompt.Ids(new int[] {1, 2, 3}), sampling)));
            long steps = e.awaitStats(st -> st.running() == 0, Duration.ofSeconds(30)).steps(); // after the last step

            long up = Transfers.toDevice();
            long down = Transfers.toHost();
            Completion c = Completion.read(e.submit(GenerationRequest.of("counted", new Prompt.Ids(new int[] {5, 6, 7, 8, 9}), sampling)));
            long ran = e.awaitStats(st -> st.running() == 0, Duration.ofSeconds(30)).steps() - steps;
            assertEquals(12, c.ids().length);
            assertEquals(12, ran, "one prefill step that samples the first id, then 11 decode steps");
            assertEquals(ran, Transfers.toDevice() - up, kind + ": copies to the device over " + ran + " steps");
            assertEquals(ran, Transfers.toHost() - down, kind + ": copies back over " + ran + " steps");
        }
    }

    @Test
    void aSplitModelCopiesItsInputsOnceToEachDeviceAndItsHiddenStateOnceBetweenThem() throws Exception {
        SamplingOptions greedy = SamplingOptions.greedy(12).toBuilder().ignoreEos(true).build();
        try (LoadedModel m = LoadedModel.load(TestModels.tiny(Architecture.QWEN2), TestDevice.options(Precision.F32)
                     .withDevice(TestDevice.list(2)));
             Engine e = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(256).withMaxModelLen(128),
                     EngineListener.NONE)) {
            Completion.read(e.submit(GenerationRequest.of("warm-up", new Prompt.Ids(new int[] {1, 2, 3}), greedy)));
            long steps = e.awaitStats(st -> st.running() == 0, Duration.ofSeconds(30)).steps();
            long up = Transfers.toDevice();
            long down = Transfers.toHost();
            long between = Transfers.betweenDevices();
            Completion c = Completion.read(e.submit(GenerationRequest.of("counted", new Prompt.Ids(new int[] {5, 6, 7, 8, 9}), greedy)));
            long ran = e.awaitStats(st -> st.running() == 0, Duration.ofSeconds(30)).steps() - steps;
            assertEquals(12, c.ids().length);
            assertEquals(12, ran);
            int devices = m.model().devices().distinct().size(); // cpu,cpu is one device
            assertEquals(devices * ran, Transfers.toDevice() - up, "one copy of the inputs to each device per step");
            assertEquals(ran, Transfers.toHost() - down, "the ids come back in one copy per step");
            assertEquals(ran, Transfers.betweenDevices() - between, "the hidden state moves once per step");
        }
    }
}
