package io.qwenserve.engine.sched;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Automatic prefix caching on real (tiny, fp32) models: greedy ids identical with and without it, batched, with
 * preemption and cancellation in the mix; Qwen v1 with a 16-token seq_length, so that prompts past it run with dynamic
 * NTK (their keys rotated with another alpha: never shared with shorter prompts) and logN.
 */
class PrefixCachingTest {

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("qwen-s16", RandomCheckpoint.Spec.tiny(Architecture.QWEN).withSeqLength(16)),
                Arguments.of("qwen2", RandomCheckpoint.Spec.tiny(Architecture.QWEN2)),
                Arguments.of("qwen3", RandomCheckpoint.Spec.tiny(Architecture.QWEN3)));
    }

    /** Groups sharing a 3-block prefix; some prompts repeated whole, some short (under 16), some long (over it). */
    static List<int[]> prompts(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int group = 0; group < 3; group++) {
            int[] prefix = r.ints(group == 2 ? 8 : 48, 0, 150000).toArray();
            for (int i = 0; i < 4; i++) {
                int[] tail = r.ints(i == 3 ? 0 : 1 + r.nextInt(12), 0, 150000).toArray();
                int[] p = Arrays.copyOf(prefix, prefix.length + tail.length);
                System.arraycopy(tail, 0, p, prefix.length, tail.length);
                out.add(p);
            }
        }
        return out;
    }

    static EngineConfig config(boolean caching, int batch, int kvTokens) {
        return EngineConfig.defaults().withMaxBatch(batch).withMaxBatchTokens(48).withKvCacheTokens(kvTokens).withMaxModelLen(128)
                .toBuilder().prefixCaching(caching).build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void greedyIdsAreTheSameWithAndWithoutPrefixCaching(String name, RandomCheckpoint.Spec spec) throws Exception {
        try (LoadedModel m = LoadedModel.load(TestModels.get(name, spec), ModelOptions.of(Precision.F32))) {
            List<int[]> prompts = prompts(name.hashCode());
            List<int[]> expected = new ArrayList<>();
            try (Engine plain = new Engine(m, config(false, 1, 512), EngineListener.NONE)) {
                for (int i = 0; i < prompts.size(); i++) {
                    expected.add(Completion.read(plain.submit(request("p" + i, prompts.get(i), 10))).ids());
                }
            }
            // a cache of 7 blocks: sharing, eviction and preemption all happen; two requests are cancelled on the way
            try (Engine cached = new Engine(m, config(true, 4, 112), EngineListener.NONE)) {
                for (int round = 0; round < 2; round++) {
                    List<GenerationStream> streams = new ArrayList<>();
                    for (int i = 0; i < prompts.size(); i++) {
                        streams.add(cached.submit(request("c" + round + "-" + i, prompts.get(i), 10)));
                        if (i % 4 == 3) { // the next group arrives while this one runs
                            long steps = cached.stats().steps();
                            cached.awaitStats(s -> s.steps() > steps, Duration.ofSeconds(30));
                        }
                    }
                    streams.get(1).cancel();
                    streams.get(6).cancel();
                    for (int i = 0; i < prompts.size(); i++) {
                        Completion c = Completion.read(streams.get(i));
                        if (c.finishReason() != FinishReason.CANCELLED) {
                            assertArrayEquals(expected.get(i), c.ids(), name + " round " + round + " request " + i);
                        }
                    }
                }
                cached.checkInvariants();
                EngineStats st = cached.stats();
                assertEquals(0, st.kvBlocksUsed());
                assertTrue(st.prefixCacheHits() > 0, "shared prefixes were found in the cache: " + st);
                assertTrue(st.preemptions() > 0, "the small cache preempted: " + st);
            }
        }
    }

    static GenerationRequest request(String id, int[] prompt, int maxTokens) {
        return GenerationRequest.of(id, new Prompt.Ids(prompt), SamplingOptions.greedy(maxTokens));
    }

    @Test
    void aSecondTurnReusesTheFirstTurnsBlocksAndAnotherSystemPromptDoesNot() throws Exception {
        try (LoadedModel m = LoadedModel.load(TestModels.tiny(Architecture.QWEN2), ModelOptions.of(Precision.F32));
             Engine e = new Engine(m, config(true, 4, 2048), EngineListener.NONE)) {
            String system = "You are a careful assistant who answers in one short sentence, politely and precisely.";
            List<ChatMessage> turn1 = List.of(ChatMessage.system(system), ChatMessage.user("What is the capital of France?"));
            Completion first = Completion.read(e.submit(GenerationRequest.of("t1", new Prompt.Chat(turn1), SamplingOptions.greedy(8))));
            int prompt1 = first.end().usage().promptTokens();
            assertEquals(0, first.end().usage().cachedPromptTokens());

            List<ChatMessage> turn2 = List.of(ChatMessage.system(system), ChatMessage.user("What is the capital of France?"),
                    ChatMessage.assistant(first.text()), ChatMessage.user("And of Italy?"));
            Completion second = Completion.read(e.submit(GenerationRequest.of("t2", new Prompt.Chat(turn2), SamplingOptions.greedy(8))));
            int cached = second.end().usage().cachedPromptTokens();
            assertTrue(cached >= prompt1 / 16 * 16 && cached % 16 == 0,
                    "the first turn's full blocks are reused: " + cached + " of " + second.end().usage().promptTokens());

            List<ChatMessage> other = List.of(ChatMessage.system("You are a pirate. " + system), ChatMessage.user("What is the capital of France?"));
            Completion third = Completion.read(e.submit(GenerationRequest.of("t3", new Prompt.Chat(other), SamplingOptions.greedy(8))));
            assertEquals(0, third.end().usage().cachedPromptTokens(), "a different system prompt shares no full block");

            EngineStats st = e.stats();
            assertEquals(first.end().usage().promptTokens() + second.end().usage().promptTokens() + third.end().usage().promptTokens(),
                    st.prefixCacheQueries());
            assertEquals(cached, st.prefixCacheHits());
        }
    }
}
