package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** ReAct tool calls: names from the list, arguments valid for the named tool's schema; none forbids a call. */
class ToolCallFormatTest {
    private static final String WEATHER = """
            {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
             "unit": {"enum": ["c", "f"]}}, "required": ["city"], "additionalProperties": false}""";
    private static final String SEARCH = """
            {"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 20},
             "limit": {"type": "integer", "minimum": 1, "maximum": 10}}, "required": ["query", "limit"]}""";
    private static final List<ToolCallFormat.Tool> TOOLS = List.of(new ToolCallFormat.Tool("get_weather", WEATHER),
            new ToolCallFormat.Tool("search", SEARCH));
    private static final Map<String, String> SCHEMAS = Map.of("get_weather", WEATHER, "search", SEARCH);

    /** The call in a ReAct text: {name, arguments}, or null (the service's ReactParser rules). */
    static String[] call(String text) {
        int i = text.indexOf("\nAction:"), j = text.indexOf("\nAction Input:");
        if (i < 0 || j < i) {
            return null;
        }
        int k = text.indexOf("\nObservation:", j);
        String args = text.substring(j + "\nAction Input:".length(), k < 0 ? text.length() : k).strip();
        return new String[] {text.substring(i + "\nAction:".length(), j).strip(), args};
    }

    private static void assertValidCall(String text, String expectedName) {
        String[] call = call(text);
        assertTrue(call != null, "no call in " + text);
        if (expectedName != null) {
            assertEquals(expectedName, call[0]);
        }
        assertTrue(SCHEMAS.containsKey(call[0]), call[0]);
        JsonNode args = SchemaWalkTest.parse(call[1]);
        var validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(SCHEMAS.get(call[0]), SchemaValidatorsConfig.builder().build());
        assertEquals(java.util.Set.of(), validator.validate(args), text);
    }

    @Test
    void requiredAlwaysCallsAListedToolWithValidArguments() {
        Random rnd = new Random(11);
        for (int i = 0; i < 20; i++) {
            Walks.Walk w = Walks.walk(new ToolCallFormat(TOOLS, ToolCallFormat.Mode.REQUIRED, null), rnd, 3000);
            assertTrue(w.complete(), w.text());
            assertTrue(w.text().startsWith("Thought: "), w.text());
            assertValidCall(w.text(), null);
        }
    }

    @Test
    void namedCallsThatTool() {
        Random rnd = new Random(12);
        for (int i = 0; i < 20; i++) {
            Walks.Walk w = Walks.walk(new ToolCallFormat(TOOLS, ToolCallFormat.Mode.NAMED, "search"), rnd, 3000);
            assertTrue(w.complete(), w.text());
            assertValidCall(w.text(), "search");
        }
    }

    @Test
    void autoLeavesTextFreeUntilAnActionStarts() {
        ToolCallFormat auto = new ToolCallFormat(TOOLS, ToolCallFormat.Mode.AUTO, null);
        GrammarMatcher m = Walks.OUTPUTS.matcher(auto, Walks.END_IDS);
        assertTrue(m.isComplete(), "a plain answer may end at once");
        assertEquals(Walks.TOKENIZER.vocabSize() - Walks.TOKENIZER.specialTokens().size(), m.mask().count(),
                "every regular token is allowed in free text");
        Random rnd = new Random(13);
        for (int i = 0; i < 20; i++) {
            GrammarMatcher call = Walks.OUTPUTS.matcher(auto, Walks.END_IDS);
            String prefix = "Thought: I should look this up.\nAction:";
            assertTrue(call.replay(Walks.TOKENIZER.encodeOrdinary(prefix)));
            assertFalse(call.isComplete(), "once an action starts it must be finished");
            Walks.Walk rest = Walks.walk(call, rnd, 3000, 0.5);
            assertTrue(rest.complete());
            assertValidCall(prefix + rest.text(), null);
        }
    }

    @Test
    void noneNeverWritesAnAction() {
        GrammarMatcher m = Walks.OUTPUTS.matcher(new ToolCallFormat(TOOLS, ToolCallFormat.Mode.NONE, null), Walks.END_IDS);
        int[] ids = Walks.TOKENIZER.encodeOrdinary("Thought: no tools.\nAction:");
        for (int i = 0; i + 1 < ids.length; i++) {
            assertTrue(m.accept(ids[i]));
        }
        assertFalse(m.allows(ids[ids.length - 1]), "the token completing \\nAction: is masked");
        assertTrue(m.isComplete());
    }

    @Test
    void badToolSchemasAndUnknownForcedNames() {
        StructuredOutputException e = assertThrows(StructuredOutputException.class, () -> Walks.OUTPUTS.compile(
                new ToolCallFormat(List.of(new ToolCallFormat.Tool("t", "{\"type\": \"object\", \"minProperties\": 1}")),
                        ToolCallFormat.Mode.AUTO, null)));
        assertEquals("minProperties", e.keyword());
        assertTrue(e.getMessage().startsWith("tool t parameters: "), e.getMessage());
        assertThrows(StructuredOutputException.class, () -> new ToolCallFormat(TOOLS, ToolCallFormat.Mode.NAMED, "nope"));
    }
}
