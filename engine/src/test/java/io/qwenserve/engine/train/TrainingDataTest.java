package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.chat.ChatMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's training format, and bad samples named by index, id and field. */
class TrainingDataTest {
    static final String README_SAMPLE = """
            [
              {
                "id": "identity_0",
                "conversations": [
                  {"from": "user", "value": "你好"},
                  {"from": "assistant", "value": "我是一个语言模型,我叫通义千问。"}
                ]
              }
            ]""";

    @Test
    void readsTheReadmeSample() {
        List<TrainingData.Conversation> c = TrainingData.parse("data.json", README_SAMPLE);
        assertEquals(1, c.size());
        assertEquals("identity_0", c.get(0).id());
        assertEquals(List.of(ChatMessage.user("你好"), ChatMessage.assistant("我是一个语言模型,我叫通义千问。")), c.get(0).messages());
    }

    static String bad(String json) {
        return assertThrows(TrainingData.DataException.class, () -> TrainingData.parse("data.json", json)).getMessage();
    }

    static void assertMentions(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "'" + message + "' should mention " + p);
        }
    }

    @Test
    void badSamplesNameTheirIdAndField() {
        String ok = "{\"id\": \"a\", \"conversations\": [{\"from\": \"user\", \"value\": \"q\"}, {\"from\": \"assistant\", \"value\": \"r\"}]}";
        assertMentions(bad("{}"), "data.json", "JSON list");
        assertMentions(bad("[" + ok + ", {\"id\": \"b\", \"conversations\": [{\"from\": \"bot\", \"value\": \"x\"}]}]"),
                "sample 1", "\"b\"", "conversations[0].from", "'bot'");
        assertMentions(bad("[{\"id\": \"c\", \"conversations\": [{\"from\": \"user\"}, {\"from\": \"assistant\", \"value\": \"r\"}]}]"),
                "\"c\"", "conversations[0].value", "missing");
        assertMentions(bad("[{\"id\": \"d\", \"conversations\": [{\"from\": \"user\", \"value\": 3}, {\"from\": \"assistant\", \"value\": \"r\"}]}]"),
                "\"d\"", "conversations[0].value", "string");
        assertMentions(bad("[{\"id\": \"e\", \"conversations\": [{\"from\": \"user\", \"value\": \"q\"}]}]"),
                "\"e\"", "no assistant message");
        assertMentions(bad("[{\"id\": \"f\", \"conversations\": [{\"from\": \"assistant\", \"value\": \"r\"}]}]"),
                "\"f\"", "conversations[0].from", "start with a user message");
        assertMentions(bad("[{\"id\": \"g\", \"conversations\": [{\"from\": \"user\", \"value\": \"q\"}, {\"from\": \"system\", \"value\": \"s\"}, "
                + "{\"from\": \"assistant\", \"value\": \"r\"}]}]"), "\"g\"", "conversations[1].from", "only come first");
        assertMentions(bad("[{\"conversations\": []}]"), "sample 0", "\"id\"", "missing");
        assertMentions(bad("[{\"id\": \"h\"}]"), "\"h\"", "\"conversations\"", "missing");
        assertMentions(bad("[{\"id\": \"i\", \"conversations\": []}]"), "\"i\"", "empty");
        assertMentions(bad("[" + ok + ", " + ok + "]"), "sample 1", "\"a\"", "duplicate");
        assertMentions(bad("[" + ok + ","), "data.json", "not valid JSON");
    }
}
