package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.GptqConfig;
import io.qwenserve.engine.model.Precision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --resume} continues a run exactly (same data order, dropout masks, optimizer state and schedule), and Q-LoRA
 * trains over a GPTQ Int4 checkpoint whose weights stay int4, then merges into a model that gives the trained answers.
 */
class ResumeAndQloraTest {
    @TempDir
    Path tmp;

    @Test
    void resumeFromAnEpochCheckpointEndsWhereAnUninterruptedRunEnds() throws Exception {
        Path base = TestModels.tiny(Architecture.QWEN3);
        Path data = Chats.writeData(tmp);
        // batch 1 x grad-accum 2 over 3 samples: two steps per epoch, the second a partial group; dropout on
        FinetuneOptions o = FinetuneOptions.defaults(FinetuneMethod.LORA).withSchedule(1e-2, 3, 0.1).withBatching(64, 1, 2)
                .withLora(4, 8, 0.1, List.of("q_proj", "down_proj")).withRuntime(7, Precision.F32, 2);
        Path straight = tmp.resolve("straight");
        Finetune.Result a = Finetune.run(base, data, straight, o, false, "cpu", null, false);
        assertEquals(6, a.log().size());

        Path resumed = tmp.resolve("resumed");
        Files.createDirectories(resumed);
        copyTree(straight.resolve("checkpoint-epoch-1"), resumed.resolve("checkpoint-epoch-1"));
        Finetune.Result b = Finetune.run(base, data, resumed, o, true, "cpu", null, false);
        assertEquals(withoutTimes(a.log()), withoutTimes(b.log()), "the same steps, losses and learning rates");
        ModelConfig cfg = ModelConfig.load(base);
        try (PeftAdapter x = PeftAdapter.read(straight, cfg); PeftAdapter y = PeftAdapter.read(resumed, cfg)) {
            for (Map.Entry<String, LoraPair> e : x.pairs().entrySet()) {
                LoraPair p = y.pairs().get(e.getKey());
                assertTrue(e.getValue().a().equal(p.a()) && e.getValue().b().equal(p.b()), e.getKey() + " differs after resume");
            }
        }

        FinetuneOptions other = o.withSchedule(2e-2, 3, 0.1);
        String m = assertThrows(IllegalArgumentException.class,
                () -> Finetune.run(base, data, resumed, other, true, "cpu", null, false)).getMessage();
        assertTrue(m.contains("lr=0.02") && m.contains("lr=0.01"), m);
        String none = assertThrows(IllegalArgumentException.class,
                () -> Finetune.run(base, data, tmp.resolve("empty"), o, true, "cpu", null, false)).getMessage();
        assertTrue(none.contains("no checkpoint"), none);
    }

    @Test
    void fp16TrainsWithLossScaling() throws Exception {
        FinetuneOptions o = FinetuneOptions.defaults(FinetuneMethod.QLORA).withSchedule(3e-2, 6, 0).withBatching(64, 3, 1)
                .withLora(8, 16, 0.05, List.of("v_proj", "down_proj")).withSaveEvery(100);
        assertEquals(Precision.F16, o.dtype(), "the finetune_qlora script's --fp16");
        Finetune.Result r = Finetune.run(gptq(), Chats.writeData(tmp), tmp.resolve("fp16"), o, false, "cpu", null, false);
        // the loss starts around 33: scaled by 65536 its gradients overflow fp16, so the scaler skips steps and halves
        // the scale until they fit (as a grad scaler does), and the steps after that train
        long skipped = r.log().stream().filter(Trainer.StepLog::skipped).count();
        double scale = TrainState.read(tmp.resolve("fp16")).lossScale();
        assertEquals(65536.0 / (1L << skipped), scale, r.log().toString());
        assertTrue(skipped < 4, r.log().toString());
        assertTrue(r.lastLoss() < r.firstLoss() * 0.9, r.log().toString());
    }

    static List<String> withoutTimes(List<Trainer.StepLog> log) {
        return log.stream().map(s -> s.step() + " " + s.epoch() + " " + s.loss() + " " + s.lr() + " " + s.gradNorm() + " "
                + s.skipped() + " " + s.tokens()).toList();
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    static Path gptq() {
        return TestModels.get("gptq-qwen2", RandomCheckpoint.Spec.tiny(Architecture.QWEN2).withDtype(DType.F16),
                new RandomCheckpoint.Gptq(32, false));
    }

    @Test
    void qloraKeepsTheBaseInt4AndItsMergedModelGivesTheTrainedAnswers() throws Exception {
        Path base = gptq();
        assertNotNull(GptqConfig.load(base));
        try (TrainModel m = TrainModelLoader.load(base, torch.ScalarType.Half, new Device(torch.DeviceType.CPU), false)) {
            for (TrainLinear lin : m.linears()) {
                assertNull(lin.weight(), lin.name() + " should have no float weight");
                assertEquals("Int", lin.int4().qweight().scalar_type().toString());
                assertArrayEquals(new long[] {lin.in() / 8, lin.out()}, lin.int4().qweight().sizes().vec().get(),
                        lin.name() + ": eight 4-bit weights per int32");
            }
        }
        Path out = tmp.resolve("qlora");
        // bf16 (fp16, the qlora default, runs slow CPU kernels: see fp16TrainsWithLossScaling) and a learning rate and
        // epochs a tiny model learns with quickly
        FinetuneOptions o = FinetuneOptions.defaults(FinetuneMethod.QLORA).withSchedule(3e-2, 30, 0).withBatching(64, 3, 1)
                .withLora(8, 16, 0.05, List.of()).withRuntime(42, Precision.BF16, 2).withSaveEvery(100);
        Finetune.Result r = Finetune.run(base, Chats.writeData(tmp), out, o, false, "cpu", System.out, false);
        FinetuneTest.assertLearned(r);
        Path merged = tmp.resolve("merged");
        LoraMerger.merge(base, out, merged);
        assertNull(GptqConfig.load(merged), "the merged model is a float checkpoint");
        Chats.assertRepliesAsTrained(merged);
        // served as trained: the adapter applied per row over the int4 base (its linears run the int4 kernel)
        for (TrainingData.Conversation c : TrainingData.parse("data.json", Chats.DATA)) {
            List<io.qwenserve.engine.chat.ChatMessage> prompt = c.messages().subList(0, c.messages().size() - 1);
            assertEquals(c.messages().get(c.messages().size() - 1).content(), Chats.replyWithAdapter(base, out, prompt),
                    c.id() + ": the qlora adapter served over the GPTQ base");
        }
    }
}
