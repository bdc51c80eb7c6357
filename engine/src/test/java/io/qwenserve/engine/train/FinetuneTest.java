package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.checkpoint.Checkpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.Precision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finetuning tiny models (2 layers, hidden 64, the real vocabulary) on three conversations: the loss falls and the
 * trained model, loaded by the serving engine, gives the training answers greedily, after full finetuning and after
 * LoRA (merged with merge-lora, and served as an adapter).
 */
class FinetuneTest {
    @TempDir
    Path tmp;

    static FinetuneOptions options(FinetuneMethod method, double lr, int epochs) {
        return FinetuneOptions.defaults(method).withSchedule(lr, epochs, 0).withBatching(64, 3, 1)
                .withRuntime(42, Precision.F32, 2);
    }

    static void assertLearned(Finetune.Result r) {
        System.out.printf("loss %.4f -> %.4f over %d steps, %.0f tokens/s%n", r.firstLoss(), r.lastLoss(), r.log().size(),
                r.tokensPerSecond());
        assertTrue(r.lastLoss() < r.firstLoss() / 20, "loss " + r.firstLoss() + " -> " + r.lastLoss());
    }

    @Test
    void theTrainTestsRunWithGlibcMallocTuned() {
        // set by engine/pom.xml's train-tests execution; a -Dtest run also passes through the default execution
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("qwen.train-tests"));
        assertTrue(MallocTuning.applied(), "the train tests' JVM should have " + MallocTuning.shell());
    }

    @Test
    void fullFinetuningLearnsTheAnswersAndWritesACheckpointTheEngineLoads() throws Exception {
        Path base = TestModels.tiny(Architecture.QWEN2);
        Path out = tmp.resolve("full");
        FinetuneOptions o = options(FinetuneMethod.FULL, 3e-3, 20).withSaveEvery(10);
        Finetune.Result r = Finetune.run(base, Chats.writeData(tmp), out, o, false, "cpu", System.out, false);
        assertLearned(r);
        assertEquals(20, r.log().size());
        assertEquals(ModelConfig.load(base), ModelConfig.load(out));
        for (String f : List.of("config.json", "generation_config.json", "qwen.tiktoken", Checkpoint.SINGLE, TrainState.FILE)) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertTrue(Files.isDirectory(out.resolve("checkpoint-epoch-10")));
        assertTrue(Files.isRegularFile(out.resolve("checkpoint-epoch-20").resolve(Checkpoint.SINGLE)));
        assertFalse(Files.exists(out.resolve("checkpoint-epoch-5")), "--save-every 10");
        Chats.assertRepliesAsTrained(out);
    }

    @Test
    void loraLearnsTheAnswersAndMergesIntoAModelTheEngineLoads() throws Exception {
        Path base = TestModels.tiny(Architecture.QWEN);
        Path out = tmp.resolve("lora");
        FinetuneOptions o = options(FinetuneMethod.LORA, 3e-2, 30).withLora(8, 16, 0.05, List.of()).withSaveEvery(100);
        Finetune.Result r = Finetune.run(base, Chats.writeData(tmp), out, o, false, "cpu", System.out, false);
        assertLearned(r);
        AdapterConfig ac = AdapterConfig.read(out);
        assertEquals(List.of("c_attn", "c_proj", "w1", "w2"), ac.targetModules());
        assertEquals(base.toAbsolutePath().normalize().toString(), ac.baseModelNameOrPath());
        try (PeftAdapter a = PeftAdapter.read(out, ModelConfig.load(base))) {
            assertEquals(2 * 5, a.pairs().size(), "c_attn, attn.c_proj, w1, w2, mlp.c_proj in each of 2 layers");
        }
        Path merged = tmp.resolve("merged");
        LoraMerger.merge(base, out, merged);
        Chats.assertRepliesAsTrained(merged);
        for (TrainingData.Conversation c : TrainingData.parse("data.json", Chats.DATA)) { // and served unmerged, per row
            List<io.qwenserve.engine.chat.ChatMessage> prompt = c.messages().subList(0, c.messages().size() - 1);
            assertEquals(c.messages().get(c.messages().size() - 1).content(), Chats.replyWithAdapter(base, out, prompt), c.id());
        }
    }
}
