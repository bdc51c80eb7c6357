package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestDevice;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The engine batching against the same engine serving one request at a time, on tiny fp32 models of all three architectures. */
@Tag(TestDevice.TAG)
class EngineTest {
    private static final Map<Architecture, LoadedModel> MODELS = new EnumMap<>(Architecture.class);

    @BeforeAll
    static void load() {
        for (Architecture a : Architecture.values()) {
            MODELS.put(a, LoadedModel.load(TestModels.tiny(a), TestDevice.options(Precision.F32)));
        }
    }

    @AfterAll
    static void close() {
        MODELS.values().forEach(LoadedModel::close);
    }

    /** Mixed prompt lengths, some longer than a block and than the prefill chunk. */
    static List<int[]> prompts(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(r.ints(1 + r.nextInt(45), 0, 150000).toArray());
        }
        return out;
    }

    /** Each prompt alone: an engine with a batch of one, one request after the other. */
    static List<int[]> singleRun(LoadedModel m, List<int[]> prompts, int maxTokens) throws InterruptedException {
        List<int[]> out = new ArrayList<>();
        EngineConfig one = EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(256).withMaxModelLen(128);
        try (Engine e = new Engine(m, one, EngineListener.NONE)) {
            for (int i = 0; i < prompts.size(); i++) {
                out.add(Completion.read(e.submit(GenerationRequest.of("single" + i, new Prompt.Ids(prompts.get(i)),
                        SamplingOptions.greedy(maxTokens)))).ids());
            }
        }
        return out;
    }

    /** Submits with staggered arrivals and returns each request's generated ids and final event. */
    static List<int[]> batchedRun(Engine e, List<int[]> prompts, int maxTokens, List<GenerationEvent.Final> finals) throws Exception {
        List<GenerationStream> streams = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            streams.add(e.submit(GenerationRequest.of("r" + i, new Prompt.Ids(prompts.get(i)), SamplingOptions.greedy(maxTokens))));
            if (i % 3 == 2) { // later arrivals join a running batch
                long steps = e.stats().steps();
                e.awaitStats(st -> st.steps() > steps, Duration.ofSeconds(30));
            }
        }
        List<int[]> out = new ArrayList<>();
        for (GenerationStream s : streams) {
            List<Integer> ids = new ArrayList<>();
            for (GenerationEvent ev : s.drain()) {
                if (ev instanceof GenerationEvent.Chunk c) {
                    for (int id : c.tokenIds()) {
                        ids.add(id);
                    }
                } else if (finals != null) {
                    finals.add((GenerationEvent.Final) ev);
                }
            }
            out.add(ids.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void batchedGreedyEqualsSingleRequest(Architecture arch) throws Exception {
        LoadedModel m = MODELS.get(arch);
        List<int[]> prompts = prompts(10, 7);
        List<int[]> expected = singleRun(m, prompts, 12);
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(8).withMaxBatchTokens(32).withKvCacheTokens(4096).withMaxModelLen(128);
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            List<GenerationEvent.Final> finals = new ArrayList<>();
            List<int[]> got = batchedRun(e, prompts, 12, finals);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(expected.get(i), got.get(i), "request " + i + " (prompt length " + prompts.get(i).length + ")");
                assertEquals(prompts.get(i).length, finals.get(i).usage().promptTokens());
                assertEquals(got.get(i).length, finals.get(i).usage().completionTokens());
            }
            e.checkInvariants();
            assertEquals(0, e.stats().kvBlocksUsed());
        }
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void preemptionKeepsOutputsIdentical(Architecture arch) throws Exception {
        LoadedModel m = MODELS.get(arch);
        List<int[]> prompts = prompts(10, 11);
        List<int[]> expected = singleRun(m, prompts, 16);
        // 6 blocks of 16 tokens: far less than 10 sequences of up to 60 tokens need at once
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(8).withMaxBatchTokens(64).withKvCacheTokens(96).withMaxModelLen(128);
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            List<int[]> got = batchedRun(e, prompts, 16, null);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(expected.get(i), got.get(i), "request " + i);
            }
            assertTrue(e.stats().preemptions() > 0, "expected preemptions with a 96-token cache");
            e.checkInvariants();
            assertEquals(0, e.stats().kvBlocksUsed());
        }
    }

    @Test
    void cancellationFreesEveryBlock() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN2);
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(2048).withMaxModelLen(512), EngineListener.NONE)) {
            int total = e.stats().kvBlocksTotal();
            List<GenerationStream> streams = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                streams.add(e.submit(GenerationRequest.of("c" + i, new Prompt.Ids(prompts(1, i).get(0)), SamplingOptions.greedy(400))));
            }
            for (GenerationStream s : streams) {
                assertInstanceOf(GenerationEvent.Chunk.class, s.poll(30, TimeUnit.SECONDS)); // running
                s.cancel();
            }
            for (GenerationStream s : streams) {
                List<GenerationEvent> rest = s.drain();
                GenerationEvent.Final f = (GenerationEvent.Final) rest.get(rest.size() - 1);
                assertEquals(FinishReason.CANCELLED, f.reason());
            }
            e.checkInvariants();
            assertEquals(0, e.stats().kvBlocksUsed());
            assertEquals(total, e.stats().kvBlocksTotal());
        }
    }

    @Test
    void deadlineEndsARequest() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN);
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(4096).withMaxModelLen(2048), EngineListener.NONE)) {
            GenerationStream s = e.submit(new GenerationRequest("d", new Prompt.Ids(new int[] {1, 2, 3}), SamplingOptions.greedy(2000), 0,
                    Instant.now().plusMillis(150)));
            List<GenerationEvent> events = s.drain();
            GenerationEvent.Final f = (GenerationEvent.Final) events.get(events.size() - 1);
            assertEquals(FinishReason.DEADLINE, f.reason());
            assertTrue(f.usage().completionTokens() < 2000);
            e.checkInvariants();
            assertEquals(0, e.stats().kvBlocksUsed());
        }
    }

    @Test
    void fullQueueRejects() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN2);
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(1).withQueueSize(2).withKvCacheTokens(1024).withMaxModelLen(512);
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            GenerationStream running = e.submit(GenerationRequest.of("a", new Prompt.Ids(new int[] {5}), SamplingOptions.greedy(400)));
            assertNotNull(running.poll(30, TimeUnit.SECONDS)); // admitted: the queue is empty again
            e.submit(GenerationRequest.of("b", new Prompt.Ids(new int[] {6}), SamplingOptions.greedy(4)));
            e.submit(GenerationRequest.of("c", new Prompt.Ids(new int[] {7}), SamplingOptions.greedy(4)));
            EngineRejectedException ex = assertThrows(EngineRejectedException.class,
                    () -> e.submit(GenerationRequest.of("d", new Prompt.Ids(new int[] {8}), SamplingOptions.greedy(4))));
            assertEquals(EngineRejectedException.Reason.QUEUE_FULL, ex.reason());
            assertTrue(ex.getMessage().contains("queue is full"), ex.getMessage());
            running.cancel();
        }
    }

    @Test
    void invalidAndOversizedRequestsAreRefusedAtSubmit() {
        LoadedModel m = MODELS.get(Architecture.QWEN2);
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(256).withMaxModelLen(100), EngineListener.NONE)) {
            EngineRejectedException tooLong = assertThrows(EngineRejectedException.class,
                    () -> e.submit(GenerationRequest.of("x", new Prompt.Ids(new int[100]), SamplingOptions.greedy(4))));
            assertEquals(EngineRejectedException.Reason.PROMPT_TOO_LONG, tooLong.reason());
            EngineRejectedException badId = assertThrows(EngineRejectedException.class,
                    () -> e.submit(GenerationRequest.of("y", new Prompt.Ids(new int[] {1, 999999}), SamplingOptions.greedy(4))));
            assertEquals(EngineRejectedException.Reason.INVALID, badId.reason());
            assertEquals("prompt_token_ids", badId.field());
            EngineRejectedException empty = assertThrows(EngineRejectedException.class,
                    () -> e.submit(GenerationRequest.of("z", new Prompt.Ids(new int[0]), SamplingOptions.greedy(4))));
            assertEquals(EngineRejectedException.Reason.INVALID, empty.reason());
        }
    }

    @Test
    void stopStringSpanningTokensIsCutAndNeverSent() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN);
        int[] prompt = {9707, 11, 847, 829, 374};
        Completion plain;
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(1024).withMaxModelLen(256), EngineListener.NONE)) {
            plain = Completion.read(e.submit(GenerationRequest.of("plain", new Prompt.Ids(prompt), SamplingOptions.greedy(24))));
        }
        // a stop string made of the end of one token's text and the start of the next one's
        String t3 = m.tokenizer().decode(new int[] {plain.ids()[3]});
        String t4 = m.tokenizer().decode(new int[] {plain.ids()[4]});
        String stop = t3.substring(t3.length() - 1) + t4.substring(0, 1);
        String expectedText = plain.text().substring(0, plain.text().indexOf(stop));
        SamplingOptions p = SamplingOptions.greedy(24).toBuilder().stop(List.of(stop)).build();
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(1024).withMaxModelLen(256), EngineListener.NONE)) {
            StringBuilder text = new StringBuilder();
            GenerationEvent.Final f = null;
            for (GenerationEvent ev : e.submit(GenerationRequest.of("s", new Prompt.Ids(prompt), p)).drain()) {
                if (ev instanceof GenerationEvent.Chunk c) {
                    text.append(c.text());
                } else {
                    f = (GenerationEvent.Final) ev;
                }
            }
            assertEquals(FinishReason.STOP_STRING, f.reason());
            assertEquals(expectedText, text.toString());
            assertFalse(text.toString().contains(stop));
        }
    }

    @Test
    void sameSeedSameOutputWhateverTheBatch() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN3);
        SamplingOptions sampled = SamplingOptions.builder().temperature(0.9).topP(0.9).topK(50).repetitionPenalty(1.1)
                .presencePenalty(0.5).frequencyPenalty(0.2).seed(42L).maxTokens(16).build();
        int[] prompt = {100, 200, 300};
        try (Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(4096).withMaxModelLen(256), EngineListener.NONE)) {
            int[] alone = ids(e.submit(GenerationRequest.of("alone", new Prompt.Ids(prompt), sampled)));
            List<GenerationStream> crowd = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                crowd.add(e.submit(GenerationRequest.of("n" + i, new Prompt.Ids(prompts(1, 100 + i).get(0)),
                        sampled.toBuilder().seed((long) i).temperature(1.2).build())));
            }
            int[] together = ids(e.submit(GenerationRequest.of("together", new Prompt.Ids(prompt), sampled)));
            for (GenerationStream s : crowd) {
                s.drain();
            }
            assertArrayEquals(alone, together);
        }
    }

    static int[] ids(GenerationStream s) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        for (GenerationEvent ev : s.drain()) {
            if (ev instanceof GenerationEvent.Chunk c) {
                for (int id : c.tokenIds()) {
                    ids.add(id);
                }
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void fiveHundredRandomRequestsKeepBlockAccountingExact() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN2);
        SplittableRandom r = new SplittableRandom(2024);
        EngineConfig cfg = EngineConfig.defaults().withMaxBatch(16).withMaxBatchTokens(48).withKvCacheTokens(320).withMaxModelLen(96);
        try (Engine e = new Engine(m, cfg, EngineListener.NONE)) {
            List<GenerationStream> streams = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                int[] prompt = r.ints(1 + r.nextInt(60), 0, 151000).toArray();
                SamplingOptions p = SamplingOptions.builder().temperature(r.nextBoolean() ? 0.0 : 0.5 + r.nextDouble())
                        .topP(0.5 + r.nextDouble() / 2).topK(r.nextInt(3) * 20).seed(r.nextLong()).maxTokens(1 + r.nextInt(30))
                        .repetitionPenalty(r.nextBoolean() ? 1.0 : 1.2).build();
                streams.add(e.submit(new GenerationRequest("q" + i, new Prompt.Ids(prompt), p, r.nextInt(3),
                        r.nextInt(20) == 0 ? Instant.now().plusMillis(r.nextInt(200)) : null)));
                if (r.nextInt(4) == 0) {
                    streams.get(r.nextInt(streams.size())).cancel();
                }
                if (i % 50 == 0) {
                    e.checkInvariants();
                }
                e.awaitStats(st -> st.waiting() <= 100, Duration.ofSeconds(60));
            }
            Map<FinishReason, Integer> reasons = new EnumMap<>(FinishReason.class);
            for (GenerationStream s : streams) {
                List<GenerationEvent> events = s.drain();
                long finals = events.stream().filter(ev -> ev instanceof GenerationEvent.Final).count();
                assertEquals(1, finals, "exactly one terminal event");
                assertInstanceOf(GenerationEvent.Final.class, events.get(events.size() - 1));
                reasons.merge(((GenerationEvent.Final) events.get(events.size() - 1)).reason(), 1, Integer::sum);
                for (GenerationEvent ev : events) {
                    if (ev instanceof GenerationEvent.Chunk c) {
                        assertFalse(c.text().contains("\uFFFD"), "no replacement characters in streamed text");
                    }
                }
            }
            e.checkInvariants();
            assertEquals(0, e.stats().kvBlocksUsed());
            assertTrue(reasons.containsKey(FinishReason.CANCELLED), reasons.toString());
            assertTrue(e.stats().preemptions() > 0, "the small cache should have forced preemptions");
        }
    }

    @Test
    void drainFinishesInFlightWork() throws Exception {
        LoadedModel m = MODELS.get(Architecture.QWEN2);
        Engine e = new Engine(m, EngineConfig.defaults().withKvCacheTokens(2048).withMaxModelLen(512), EngineListener.NONE);
        GenerationStream quick = e.submit(GenerationRequest.of("quick", new Prompt.Ids(new int[] {1, 2}), SamplingOptions.greedy(5)));
        GenerationStream slow = e.submit(GenerationRequest.of("slow", new Prompt.Ids(new int[] {3, 4}), SamplingOptions.greedy(4000)));
        e.drain(Duration.ofMillis(500));
        List<GenerationEvent> q = quick.drain();
        assertEquals(FinishReason.LENGTH, ((GenerationEvent.Final) q.get(q.size() - 1)).reason());
        List<GenerationEvent> s = slow.drain();
        assertEquals(FinishReason.CANCELLED, ((GenerationEvent.Final) s.get(s.size() - 1)).reason());
        assertThrows(EngineRejectedException.class,
                () -> e.submit(GenerationRequest.of("late", new Prompt.Ids(new int[] {1}), SamplingOptions.greedy(1))));
        e.close();
    }
}
