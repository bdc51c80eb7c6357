package io.qwenserve.service.openai.react;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qwenserve.service.openai.react.ReactParser.Parsed;
import java.util.List;
import org.junit.jupiter.api.Test;

/** parse_response of Qwen's openai_api.py on crafted model outputs, and its streaming counterpart. */
class ReactParserTest {
    static final String CALL = "Thought: I need the weather.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\n";
    static final String CALL_WITH_OBSERVATION = CALL + "Observation: sunny\nThought: done";
    static final String ANSWER = "Thought: I now know the final answer.\nFinal Answer: It is sunny.";

    @Test
    void anActionCutAtTheObservationStopWordIsACall() {
        Parsed p = ReactParser.parse(CALL);
        assertTrue(p.isCall());
        assertEquals("get_weather", p.call().name());
        assertEquals("{\"city\": \"Paris\"}", p.call().arguments());
        assertEquals("I need the weather.", p.content());
    }

    @Test
    void anObservationWrittenByTheModelEndsTheArguments() {
        Parsed p = ReactParser.parse(CALL_WITH_OBSERVATION);
        assertEquals("{\"city\": \"Paris\"}", p.call().arguments());
    }

    @Test
    void aFinalAnswerIsTheTextAfterItsLastOccurrence() {
        Parsed p = ReactParser.parse(ANSWER);
        assertFalse(p.isCall());
        assertEquals("It is sunny.", p.content());
        assertEquals("second", ReactParser.parse("x\nFinal Answer: first\nFinal Answer: second").content());
    }

    @Test
    void textWithoutMarkersIsTheAnswerAsItIs() {
        assertEquals("Just text.", ReactParser.parse("Just text.").content());
        assertNull(ReactParser.parse("Action: f\nAction Input: {}").call(), "Action must follow a newline");
        assertNull(ReactParser.parse("x\nAction Input: {}\nAction: f").call(), "Action Input must follow Action");
        assertNull(ReactParser.parse("x\nAction: \nAction Input: {}").call(), "an empty name is no call");
    }

    @Test
    void aThoughtWithoutPrefixIsKeptWhole() {
        Parsed p = ReactParser.parse("Let me check\nAction: f\nAction Input: {}");
        assertEquals("Let me check", p.content());
        assertEquals("f", p.call().name());
        assertEquals("{}", p.call().arguments());
    }

    /** Streamed in pieces of every size, the answer and calls come out as the whole-text parse says. */
    @Test
    void streamingAgreesWithTheWholeParse() {
        for (String text : List.of(CALL, CALL_WITH_OBSERVATION, ANSWER, "Just text.", "Thought: x\nFinal Answer: a\nb")) {
            for (int size = 1; size <= text.length(); size++) {
                ReactStreamParser s = new ReactStreamParser();
                StringBuilder streamed = new StringBuilder();
                for (int i = 0; i < text.length(); i += size) {
                    streamed.append(s.feed(text.substring(i, Math.min(text.length(), i + size))));
                }
                Parsed end = s.finish();
                streamed.append(end.content());
                Parsed whole = ReactParser.parse(text);
                assertEquals(whole.content(), streamed.toString(), text + " in pieces of " + size);
                assertEquals(whole.call(), end.call(), text + " in pieces of " + size);
            }
        }
    }

    @Test
    void aFinalAnswerStreamsAsItArrives() {
        ReactStreamParser s = new ReactStreamParser();
        assertEquals("", s.feed("Thought: I now know the final answer."));
        assertEquals("It", s.feed("\nFinal Answer: It"));
        assertEquals(" is sunny.", s.feed(" is sunny."));
        assertEquals(new Parsed("", null), s.finish());
    }
}
