package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Native memory of training does not grow with steps: every tensor a step makes is released before the next (one epoch
 * is one step here; anonymous RSS is read after each, past a full GC so that Java garbage is not counted). Measured:
 * 411 MB after 10 steps, 412 MB after 100.
 */
class TrainingMemoryTest {
    @Test
    void anonymousRssStaysFlatOverManySteps() {
        Path base = TestModels.tiny(Architecture.QWEN2);
        ModelConfig cfg = ModelConfig.load(base);
        ChatLayout layout = new ChatLayout(QwenTokenizer.load(base), cfg.architecture());
        List<ChatLayout.Example> examples = new ArrayList<>();
        for (TrainingData.Conversation c : TrainingData.parse("data.json", Chats.DATA)) {
            examples.add(layout.layout(c, 64));
        }
        int epochs = 60;
        FinetuneOptions o = FinetuneOptions.defaults(FinetuneMethod.FULL).withSchedule(1e-4, epochs, 0).withBatching(64, 3, 1)
                .withRuntime(1, Precision.BF16, 2);
        long[] rss = new long[epochs + 1];
        try (TrainModel m = TrainModelLoader.load(base, torch.ScalarType.BFloat16, new Device(torch.DeviceType.CPU), true)) {
            TrainableParams params = TrainableParams.full(m);
            Trainer t = new Trainer(m, params, o, examples, (total, e, first) -> new ProgressBar(null, false, total, e, first));
            t.train(1, (epoch, step) -> {
                System.gc(); // the Java heap's garbage (eden pages touched once) is not what this test measures
                rss[epoch] = Memory.anonRssBytes();
            });
        }
        long early = rss[10];
        long late = rss[epochs];
        System.out.printf("anonymous RSS after step 10: %d MB, after step %d: %d MB (every 10: %s)%n", early >> 20, epochs, late >> 20,
                java.util.stream.IntStream.rangeClosed(1, epochs / 10).mapToObj(i -> String.valueOf(rss[i * 10] >> 20)).toList());
        assertTrue(late - early < 8L << 20, "grew " + ((late - early) >> 20) + " MB over " + (epochs - 10) + " steps");
    }
}
