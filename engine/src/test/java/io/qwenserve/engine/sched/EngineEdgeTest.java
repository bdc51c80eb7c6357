package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sample.InvalidParameterException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The engine's edge and its failure handling: request limits, the queue bound under concurrent submits, failing steps. */
class EngineEdgeTest {
    private static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.load(TestModels.tiny(Architecture.QWEN2), ModelOptions.of(Precision.F32));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void aFailingStepEndsOnlyItsOwnSequencesAndTheEngineGoesOn() throws Exception {
        LoadedModel m = model;
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(2048).withMaxModelLen(512), EngineListener.NONE)) {
            GenerationStream running = e.submit(GenerationRequest.of("running", new Prompt.Ids(new int[] {1, 2}), SamplingOptions.greedy(400)));
            assertInstanceOf(GenerationEvent.Chunk.class, running.poll(30, TimeUnit.SECONDS));
            e.injectStepFailures(1);
            List<GenerationEvent> events = running.drain();
            GenerationEvent.Final f = (GenerationEvent.Final) events.get(events.size() - 1);
            assertEquals(FinishReason.ERROR, f.reason());
            assertTrue(f.message().contains("injected step failure"), f.message());
            Completion later = Completion.read(e.submit(GenerationRequest.of("later", new Prompt.Ids(new int[] {3}), SamplingOptions.greedy(4))));
            assertEquals(FinishReason.LENGTH, later.finishReason());
            assertTrue(e.accepting());
            assertFalse(e.failed());
            e.checkInvariants();
            assertEquals(0, e.stats().kvBlocksUsed());
        }
    }

    @Test
    void failuresInARowMarkTheEngineFailedAndEndEverything() throws Exception {
        LoadedModel m = model;
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(2048).withMaxModelLen(512).toBuilder()
                .maxStepFailures(3).build();
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            e.injectStepFailures(3);
            List<GenerationStream> streams = new ArrayList<>();
            for (int i = 0; i < 5; i++) { // one per step (batch of one): three fail, the rest wait and end with the engine
                streams.add(e.submit(GenerationRequest.of("f" + i, new Prompt.Ids(new int[] {i + 1}), SamplingOptions.greedy(400))));
            }
            for (GenerationStream s : streams) {
                List<GenerationEvent> events = s.drain();
                assertEquals(FinishReason.ERROR, ((GenerationEvent.Final) events.get(events.size() - 1)).reason());
            }
            e.awaitStats(st -> !st.loopAlive(), Duration.ofSeconds(30));
            assertTrue(e.failed());
            assertFalse(e.accepting());
            assertTrue(e.failure().contains("3 steps in a row failed"), e.failure());
            EngineRejectedException refused = assertThrows(EngineRejectedException.class,
                    () -> e.submit(GenerationRequest.of("after", new Prompt.Ids(new int[] {1}), SamplingOptions.greedy(1))));
            assertEquals(EngineRejectedException.Reason.UNAVAILABLE, refused.reason());
        }
    }

    @Test
    void requestLimitsAreCheckedAtTheEdge() {
        LoadedModel m = model;
        EngineConfig cfg = EngineConfig.defaults().withKvCacheTokens(1024).withMaxModelLen(256).toBuilder()
                .maxStopStrings(2).maxStopLength(5).maxNewTokens(50).maxPromptTokens(8).build();
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            Prompt p = new Prompt.Ids(new int[] {1, 2, 3});
            InvalidParameterException many = assertThrows(InvalidParameterException.class, () -> e.submit(GenerationRequest.of("a", p,
                    SamplingOptions.greedy(4).toBuilder().stop(List.of("x", "y", "z")).build())));
            assertEquals("stop", many.field());
            InvalidParameterException longStop = assertThrows(InvalidParameterException.class, () -> e.submit(GenerationRequest.of("b", p,
                    SamplingOptions.greedy(4).toBuilder().stop(List.of("abcdef")).build())));
            assertEquals("stop", longStop.field());
            InvalidParameterException tooMany = assertThrows(InvalidParameterException.class,
                    () -> e.submit(GenerationRequest.of("c", p, SamplingOptions.greedy(51))));
            assertEquals("max_tokens", tooMany.field());
            EngineRejectedException longPrompt = assertThrows(EngineRejectedException.class,
                    () -> e.submit(GenerationRequest.of("d", new Prompt.Ids(new int[9]), SamplingOptions.greedy(4))));
            assertEquals(EngineRejectedException.Reason.PROMPT_TOO_LONG, longPrompt.reason());
            assertTrue(longPrompt.getMessage().contains("exceeds the limit of 8"), longPrompt.getMessage());
            assertEquals(0, e.stats().waiting());
        }
    }

    @Test
    void theQueueBoundHoldsUnderConcurrentSubmits() throws Exception {
        LoadedModel m = model;
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(1).withQueueSize(5).withKvCacheTokens(1024).withMaxModelLen(512);
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            GenerationStream running = e.submit(GenerationRequest.of("long", new Prompt.Ids(new int[] {5}), SamplingOptions.greedy(500)));
            assertNotNull(running.poll(30, TimeUnit.SECONDS)); // admitted: the one slot of the batch is taken
            List<Thread> threads = new ArrayList<>();
            java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<GenerationStream> queued = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 8; t++) {
                int thread = t;
                threads.add(new Thread(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 10; i++) {
                            try {
                                queued.add(e.submit(GenerationRequest.of("t" + thread + "-" + i, new Prompt.Ids(new int[] {7}),
                                        SamplingOptions.greedy(2))));
                                accepted.incrementAndGet();
                            } catch (EngineRejectedException ex) {
                                assertEquals(EngineRejectedException.Reason.QUEUE_FULL, ex.reason());
                            }
                        }
                    } catch (InterruptedException ignored) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            threads.forEach(Thread::start);
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(5, accepted.get(), "exactly the queue's bound is accepted while the batch is busy");
            running.cancel();
            for (GenerationStream s : queued) {
                s.drain();
            }
        }
    }
}
