package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.chat.ChatTemplate;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Training sequences as finetune.py lays them out, and their prompts equal to what the chat template sends. */
class ChatLayoutTest {
    static final QwenTokenizer TOK = QwenTokenizer.defaultQwen();
    static final int I = ChatLayout.IGNORE;

    @Test
    void theReadmeSampleIsLaidOutAsFinetunePyDoes() {
        TrainingData.Conversation c = new TrainingData.Conversation("identity_0",
                List.of(ChatMessage.user("你好"), ChatMessage.assistant("我是一个语言模型,我叫通义千问。")));
        ChatLayout.Example e = new ChatLayout(TOK, Architecture.QWEN).layout(c, 512);
        int[] answer = TOK.encodeOrdinary("我是一个语言模型,我叫通义千问。");
        // system block (qwen-reference §6.1 worked ids), user block, assistant block, each ending in <|im_end|> \n
        int[] expectedIds = concat(new int[] {151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198,
                151644, 872, 198, 108386, 151645, 198, 151644, 77091, 198}, answer, new int[] {151645, 198});
        int[] expectedLabels = concat(new int[] {151644, I, I, I, I, I, I, I, I, 151645, 198,
                151644, I, I, I, 151645, 198, 151644, I, I}, answer, new int[] {151645, 198});
        assertArrayEquals(expectedIds, e.ids());
        assertArrayEquals(expectedLabels, e.labels());
        assertEquals(answer.length + 2 + 2 + 3 + 1, e.targets()); // the first position's label is never a target
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void eachAssistantTurnFollowsExactlyTheChatTemplatesPrompt(Architecture arch) {
        List<ChatMessage> messages = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi there"),
                ChatMessage.assistant("Hello!"), ChatMessage.user("\nWhat is 2+2?"), ChatMessage.assistant("\n4"));
        ChatLayout.Example e = new ChatLayout(TOK, arch).layout(new TrainingData.Conversation("x", messages), 512);
        ChatTemplate template = ChatTemplate.forArchitecture(arch, TOK, 0);
        for (int turn : new int[] {2, 4}) {
            int[] prompt = template.encode(messages.subList(0, turn));
            assertArrayEquals(prompt, Arrays.copyOf(e.ids(), prompt.length), arch + ": prompt of turn " + turn);
            String reply = messages.get(turn).content();
            // what follows the prompt is learned: the reply (as the model would generate it), then <|im_end|>
            int[] after = Arrays.copyOfRange(e.ids(), prompt.length, e.ids().length);
            int[] labels = Arrays.copyOfRange(e.labels(), prompt.length, e.ids().length);
            int[] replyIds = TOK.encodeOrdinary(reply);
            assertArrayEquals(replyIds, Arrays.copyOf(after, replyIds.length), arch + ": the reply as the model generates it");
            assertEquals(QwenTokenizer.IM_END, after[replyIds.length]);
            for (int k = 0; k < indexOf(after, QwenTokenizer.IM_END) + 2; k++) {
                assertEquals(after[k], labels[k], arch + ": turn " + turn + " position " + k + " must be learned");
            }
        }
        // system and user texts are never learned
        int[] userText = TOK.encodeOrdinary("Hi there");
        int at = indexOfSeq(e.ids(), userText);
        for (int k = 0; k < userText.length; k++) {
            assertEquals(I, e.labels()[at + k]);
        }
    }

    @Test
    void longSequencesAreCutAtMaxLen() {
        TrainingData.Conversation c = new TrainingData.Conversation("long",
                List.of(ChatMessage.user("tell me"), ChatMessage.assistant("word ".repeat(200))));
        ChatLayout.Example e = new ChatLayout(TOK, Architecture.QWEN2).layout(c, 32);
        assertEquals(32, e.ids().length);
        assertEquals(32, e.labels().length);
    }

    static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    static int indexOfSeq(int[] a, int[] seq) {
        outer:
        for (int i = 0; i + seq.length <= a.length; i++) {
            for (int k = 0; k < seq.length; k++) {
                if (a[i + k] != seq[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
