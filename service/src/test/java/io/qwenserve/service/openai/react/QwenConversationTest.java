package io.qwenserve.service.openai.react;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.service.openai.react.QwenConversation.FunctionCall;
import io.qwenserve.service.openai.react.QwenConversation.Message;
import io.qwenserve.service.openai.react.QwenConversation.Result;
import java.util.List;
import org.junit.jupiter.api.Test;

/** parse_messages of Qwen's openai_api.py (reference §6.4), case by case. */
class QwenConversationTest {
    static final String I = "INSTRUCTION";

    @Test
    void plainChatKeepsTurnsAndTrimsContents() {
        Result r = QwenConversation.parse(List.of(new Message("system", "\n\nBe brief.  \n"), new Message("user", "\nhi "),
                new Message("assistant", "hello\n"), new Message("user", "  how are you?\t")), null);
        assertEquals("Be brief.", r.system());
        assertEquals(1, r.history().size());
        assertArrayEquals(new String[] {"hi", "hello"}, r.history().get(0));
        assertEquals("  how are you?", r.query(), "only leading newlines are removed");
        assertNull(QwenConversation.parse(List.of(new Message("user", "x")), null).system(), "no system: the template's default");
    }

    @Test
    void withFunctionsAndNoHistoryTheQueryGetsTheInstruction() {
        Result r = QwenConversation.parse(List.of(new Message("user", "weather in Paris?")), I);
        assertEquals(I + "\n\nQuestion: weather in Paris?", r.query());
        assertTrue(r.history().isEmpty());
    }

    @Test
    void withFunctionsTheLatestHistoryTurnGetsTheInstructionNotTheQuery() {
        Result r = QwenConversation.parse(List.of(new Message("user", "q1"), new Message("assistant", "a1"),
                new Message("user", "q2"), new Message("assistant", "a2"), new Message("user", "q3")), I);
        assertArrayEquals(new String[] {"q1", "Thought: I now know the final answer.\nFinal Answer: a1"}, r.history().get(0));
        assertArrayEquals(new String[] {I + "\n\nQuestion: q2", "Thought: I now know the final answer.\nFinal Answer: a2"},
                r.history().get(1));
        assertEquals("q3", r.query());
    }

    @Test
    void aFunctionCallRoundTripIsTextCompletion() {
        Result r = QwenConversation.parse(List.of(new Message("user", "weather in Paris?"),
                new Message("assistant", "I should look it up.", new FunctionCall("get_weather", "{\"city\": \"Paris\"}")),
                new Message("function", "{\"temperature\": 21}")), I);
        assertTrue(r.continuation());
        assertNull(r.query());
        assertArrayEquals(new String[] {I + "\n\nQuestion: weather in Paris?",
                "Thought: I should look it up.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\nObservation: {\"temperature\": 21}\nThought:"},
                r.history().get(0));
    }

    @Test
    void aThoughtIsNotPrefixedTwiceAndAnswersAfterObservationsAreAppended() {
        Result r = QwenConversation.parse(List.of(new Message("user", "q"),
                new Message("assistant", "Thought: look", new FunctionCall("f", "{}")),
                new Message("function", "42"),
                new Message("assistant", "It is 42."), new Message("user", "thanks")), I);
        assertArrayEquals(new String[] {I + "\n\nQuestion: q", "Thought: look\nAction: f\nAction Input: {}\nObservation: 42"
                + "\nThought: I now know the final answer.\nFinal Answer: It is 42."}, r.history().get(0));
        assertEquals("thanks", r.query());
    }

    @Test
    void anAssistantLastMessageIsContinued() {
        Result r = QwenConversation.parse(List.of(new Message("user", "Write a poem"), new Message("assistant", "Roses are")), null);
        assertTrue(r.continuation());
        assertArrayEquals(new String[] {"Write a poem", "Roses are"}, r.history().get(0));
    }

    @Test
    void invalidConversationsAreRefusedWithTheField() {
        assertThrows(InvalidParameterException.class, () -> QwenConversation.parse(List.of(new Message("system", "s")), null));
        InvalidParameterException f = assertThrows(InvalidParameterException.class,
                () -> QwenConversation.parse(List.of(new Message("user", "q"), new Message("function", "r")), null));
        assertEquals("messages[1].role", f.field());
        InvalidParameterException a = assertThrows(InvalidParameterException.class,
                () -> QwenConversation.parse(List.of(new Message("system", "s"), new Message("assistant", "a"), new Message("user", "q")), null));
        assertEquals("messages[1].role", a.field());
        InvalidParameterException s = assertThrows(InvalidParameterException.class,
                () -> QwenConversation.parse(List.of(new Message("user", "q"), new Message("system", "late")), null));
        assertEquals("messages[1].role", s.field());
        InvalidParameterException u = assertThrows(InvalidParameterException.class,
                () -> QwenConversation.parse(List.of(new Message("user", "q1"), new Message("user", "q2"), new Message("assistant", "a"),
                        new Message("user", "q3")), null));
        assertEquals("messages", u.field());
    }
}
