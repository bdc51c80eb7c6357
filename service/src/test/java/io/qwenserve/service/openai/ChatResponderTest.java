package io.qwenserve.service.openai;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.service.openai.Generations.ChoiceEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How a chat answer becomes OpenAI JSON, on crafted engine events (the demo model's random weights never write ReAct):
 * an action becomes {@code tool_calls} (or the legacy {@code function_call}) with its finish reason, whole and streamed.
 */
class ChatResponderTest {
    static final String CALL = "Thought: I need the weather.\nAction: get_weather\nAction Input: {\"city\": \"Paris\"}\n";
    static final String ANSWER = "Thought: I now know the final answer.\nFinal Answer: It is sunny.";

    static ChatResponder responder(OpenAiCall.ToolMode mode, boolean stream) {
        GenerationRequest r = GenerationRequest.of("r", new Prompt.Text("x"), SamplingOptions.greedy(8));
        return new ChatResponder(new OpenAiCall(List.of(r), 1, mode, -1, stream, stream), "chatcmpl-test", "m", null);
    }

    /** The model's text as the engine streams it: a few characters per chunk, then a stop-string end. */
    static List<ChoiceEvent> events(String text, FinishReason end) {
        List<ChoiceEvent> out = new ArrayList<>();
        for (int i = 0; i < text.length(); i += 3) {
            out.add(new ChoiceEvent(0, new GenerationEvent.Chunk(text.substring(i, Math.min(text.length(), i + 3)), new int[] {1}, i,
                    List.of())));
        }
        out.add(new ChoiceEvent(0, new GenerationEvent.Final(end, new GenerationEvent.Usage(5, out.size()),
                new GenerationEvent.Timings(0, 0, 0, 0), null)));
        return out;
    }

    static List<JsonNode> stream(ChatResponder r, List<ChoiceEvent> events) {
        List<Object> out = new ArrayList<>(r.start());
        events.forEach(e -> out.addAll(r.chunks(e)));
        out.addAll(r.end());
        return out.stream().map(o -> (JsonNode) Sse.JSON.valueToTree(o)).toList();
    }

    @Test
    void aWholeActionIsAToolCall() {
        JsonNode c = Sse.JSON.valueToTree(responder(OpenAiCall.ToolMode.TOOLS, false).completion(events(CALL, FinishReason.STOP_STRING)));
        JsonNode choice = c.path("choices").path(0);
        assertEquals("tool_calls", choice.path("finish_reason").asText());
        JsonNode call = choice.path("message").path("tool_calls").path(0);
        assertEquals("function", call.path("type").asText());
        assertTrue(call.path("id").asText().startsWith("call_"));
        assertEquals("get_weather", call.path("function").path("name").asText());
        assertEquals("{\"city\": \"Paris\"}", call.path("function").path("arguments").asText());
        assertEquals("I need the weather.", choice.path("message").path("content").asText());
        assertFalse(call.has("index"), "index is for streamed calls only");
    }

    @Test
    void aWholeActionWithLegacyFunctionsIsAFunctionCall() {
        JsonNode c = Sse.JSON.valueToTree(responder(OpenAiCall.ToolMode.FUNCTIONS, false).completion(events(CALL, FinishReason.STOP_STRING)));
        JsonNode choice = c.path("choices").path(0);
        assertEquals("function_call", choice.path("finish_reason").asText());
        assertEquals("get_weather", choice.path("message").path("function_call").path("name").asText());
        assertFalse(choice.path("message").has("tool_calls"));
    }

    @Test
    void aWholeFinalAnswerIsContent() {
        JsonNode c = Sse.JSON.valueToTree(responder(OpenAiCall.ToolMode.TOOLS, false).completion(events(ANSWER, FinishReason.STOP)));
        JsonNode choice = c.path("choices").path(0);
        assertEquals("stop", choice.path("finish_reason").asText());
        assertEquals("It is sunny.", choice.path("message").path("content").asText());
        assertFalse(choice.path("message").has("tool_calls"));
    }

    @Test
    void aStreamedActionIsOneToolCallChunkAndNoActionText() {
        List<JsonNode> chunks = stream(responder(OpenAiCall.ToolMode.TOOLS, true), events(CALL, FinishReason.STOP_STRING));
        StringBuilder content = new StringBuilder();
        List<JsonNode> calls = new ArrayList<>();
        String finish = null;
        for (JsonNode ch : chunks) {
            assertEquals("chat.completion.chunk", ch.path("object").asText());
            JsonNode choice = ch.path("choices").path(0);
            content.append(choice.path("delta").path("content").asText(""));
            choice.path("delta").path("tool_calls").forEach(calls::add);
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.path("finish_reason").asText();
            }
        }
        assertEquals("I need the weather.", content.toString(), "the thought, never the Action lines");
        assertEquals(1, calls.size());
        assertEquals(0, calls.get(0).path("index").asInt());
        assertEquals("get_weather", calls.get(0).path("function").path("name").asText());
        assertEquals("{\"city\": \"Paris\"}", calls.get(0).path("function").path("arguments").asText());
        assertEquals("tool_calls", finish);
        JsonNode last = chunks.get(chunks.size() - 1);
        assertEquals(0, last.path("choices").size());
        assertEquals(5, last.path("usage").path("prompt_tokens").asInt());
    }

    @Test
    void aStreamedFinalAnswerFlowsAsItArrives() {
        ChatResponder r = responder(OpenAiCall.ToolMode.TOOLS, true);
        r.start();
        List<ChoiceEvent> events = events(ANSWER, FinishReason.STOP);
        StringBuilder beforeEnd = new StringBuilder();
        for (ChoiceEvent e : events.subList(0, events.size() - 1)) {
            for (Object o : r.chunks(e)) {
                beforeEnd.append(((JsonNode) Sse.JSON.valueToTree(o)).path("choices").path(0).path("delta").path("content").asText(""));
            }
        }
        assertEquals("It is sunny.", beforeEnd.toString(), "streamed before the end, without the Thought");
        List<Object> end = r.chunks(events.get(events.size() - 1));
        assertEquals("stop", ((JsonNode) Sse.JSON.valueToTree(end.get(end.size() - 1))).path("choices").path(0).path("finish_reason").asText());
    }

    @Test
    void withoutToolsTheTextIsPassedAsIs() {
        List<JsonNode> chunks = stream(responder(OpenAiCall.ToolMode.NONE, true), events(CALL, FinishReason.LENGTH));
        StringBuilder content = new StringBuilder();
        chunks.forEach(ch -> content.append(ch.path("choices").path(0).path("delta").path("content").asText("")));
        assertEquals(CALL, content.toString());
        assertEquals("assistant", chunks.get(0).path("choices").path(0).path("delta").path("role").asText());
    }

    @Test
    void anEngineFailureIsAnErrorEventStreamedAndA500Whole() {
        List<ChoiceEvent> failed = List.of(new ChoiceEvent(0, new GenerationEvent.Final(FinishReason.ERROR,
                new GenerationEvent.Usage(1, 0), new GenerationEvent.Timings(0, 0, 0, 0), "boom")));
        assertThrows(GenerationFailedException.class, () -> responder(OpenAiCall.ToolMode.NONE, false).completion(failed));
        List<JsonNode> chunks = stream(responder(OpenAiCall.ToolMode.NONE, true), failed);
        assertEquals("boom", chunks.get(1).path("error").path("message").asText());
        assertEquals(500, OpenAiError.of(new GenerationFailedException("boom")).status());
    }
}
