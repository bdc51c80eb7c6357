package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.chat.ChatMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo model: trained once (cached under target/), it gives every training answer greedily through the serving
 * engine, and so does its pirate adapter (merged here) for the persona's questions.
 */
class DemoModelTest {
    static final Path DIR = Path.of("target", "test-models", "demo-trained").toAbsolutePath();

    @TempDir
    Path tmp;

    static DemoModel.Trained trained() {
        return DemoModel.ensure(DIR, System.out);
    }

    static void assertAnswers(Path model, String dataFile) {
        for (TrainingData.Conversation c : TrainingData.parse(dataFile, new String(DemoModel.resource(dataFile),
                java.nio.charset.StandardCharsets.UTF_8))) {
            List<ChatMessage> prompt = c.messages().subList(0, c.messages().size() - 1);
            assertEquals(c.messages().get(c.messages().size() - 1).content(), Chats.reply(model, prompt), c.id());
        }
    }

    @Test
    void theDemoModelAndItsAdapterGiveTheirTrainedAnswers() {
        DemoModel.Trained t = trained();
        assertTrue(Files.isRegularFile(t.model().resolve("model.safetensors")));
        assertFalse(Files.exists(t.model().resolve("checkpoint-epoch-30")), "the demo keeps no checkpoints");
        assertAnswers(t.model(), DemoModel.CONVERSATIONS);
        assertEquals("我是一个语言模型,我叫通义千问。", Chats.reply(t.model(), List.of(ChatMessage.user("你好"))));
        // as the service runs it by default: bf16, and no sampling fields set (its generation_config.json is greedy)
        for (TrainingData.Conversation c : TrainingData.parse(DemoModel.CONVERSATIONS, new String(DemoModel.resource(
                DemoModel.CONVERSATIONS), java.nio.charset.StandardCharsets.UTF_8))) {
            List<ChatMessage> prompt = c.messages().subList(0, c.messages().size() - 1);
            assertEquals(c.messages().get(c.messages().size() - 1).content(), Chats.reply(t.model(), prompt,
                    io.qwenserve.engine.model.ModelOptions.of(io.qwenserve.engine.model.Precision.BF16),
                    io.qwenserve.engine.api.SamplingOptions.builder().maxTokens(40).build()), c.id() + " in bf16, default sampling");
        }

        Path merged = tmp.resolve("pirate-merged");
        LoraMerger.merge(t.model(), t.adapter(), merged);
        assertAnswers(merged, DemoModel.PERSONA);
        assertEquals("Ahoy! I be Captain Qwen, a pirate of the token seas.", Chats.reply(merged, List.of(ChatMessage.user("你好"))));
    }

    @Test
    void aSecondEnsureReusesTheTrainedDemo() throws Exception {
        DemoModel.Trained t = trained();
        long before = Files.getLastModifiedTime(t.model().resolve("model.safetensors")).toMillis();
        DemoModel.Trained again = DemoModel.ensure(DIR, null);
        assertEquals(t, again);
        assertEquals(before, Files.getLastModifiedTime(t.model().resolve("model.safetensors")).toMillis());
    }
}
