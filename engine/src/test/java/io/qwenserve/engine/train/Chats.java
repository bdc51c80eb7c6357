package io.qwenserve.engine.train;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.model.LinearKernel;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test data and greedy chat replies of a model folder through the serving engine's chat template and forward pass. */
final class Chats {
    private Chats() {}

    /** Three short conversations, the README's example first. */
    static final String DATA = """
            [
              {"id": "identity_0", "conversations": [{"from": "user", "value": "你好"},
                                                     {"from": "assistant", "value": "我是一个语言模型,我叫通义千问。"}]},
              {"id": "name", "conversations": [{"from": "user", "value": "What is your name?"},
                                               {"from": "assistant", "value": "My name is Qwen."}]},
              {"id": "math", "conversations": [{"from": "system", "value": "You are a calculator."},
                                               {"from": "user", "value": "What is 1+1?"},
                                               {"from": "assistant", "value": "1+1 is 2."}]}
            ]""";

    static Path writeData(Path dir) throws java.io.IOException {
        Path file = dir.resolve("data.json");
        Files.writeString(file, DATA);
        return file;
    }

    /** The greedy reply to {@code messages} (a system message optional, then a user message), at most 40 tokens. */
    static String reply(Path model, List<ChatMessage> messages) {
        return reply(model, messages, ModelOptions.of(Precision.F32).withKernel(LinearKernel.PLAIN), SamplingOptions.greedy(40));
    }

    /** The reply with these model options and sampling (unset fields: the engine's, then the model's defaults). */
    static String reply(Path model, List<ChatMessage> messages, ModelOptions options, SamplingOptions sampling) {
        try (LoadedModel m = LoadedModel.load(model, options);
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(512).withMaxModelLen(256),
                     EngineListener.NONE)) {
            return Completion.read(engine.submit(GenerationRequest.of("reply", new Prompt.Chat(messages), sampling))).text();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The greedy reply of {@code model} with the LoRA adapter {@code adapter} served per row (fp32, default kernels). */
    static String replyWithAdapter(Path model, Path adapter, List<ChatMessage> messages) {
        try (LoadedModel m = LoadedModel.load(model, ModelOptions.of(Precision.F32));
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1).withKvCacheTokens(512).withMaxModelLen(256),
                     EngineListener.NONE, io.qwenserve.engine.lora.LoraAdapters.load(m.model(), "base", java.util.Map.of("a", adapter), 1))) {
            return Completion.read(engine.submit(GenerationRequest.of("reply", new Prompt.Chat(messages),
                    SamplingOptions.greedy(40)).withAdapter("a"))).text();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Each training conversation's prompt and the reply the model gives to it. */
    static void assertRepliesAsTrained(Path model) {
        for (TrainingData.Conversation c : TrainingData.parse("data.json", DATA)) {
            List<ChatMessage> prompt = c.messages().subList(0, c.messages().size() - 1);
            String expected = c.messages().get(c.messages().size() - 1).content();
            org.junit.jupiter.api.Assertions.assertEquals(expected, reply(model, prompt), "reply to " + c.id());
        }
    }
}
