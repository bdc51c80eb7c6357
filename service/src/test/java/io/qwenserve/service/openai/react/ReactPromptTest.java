package io.qwenserve.service.openai.react;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ReAct prompt against the text of Qwen's openai_api.py (reference §6.4), character for character. */
class ReactPromptTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static final String WEATHER_PARAMETERS = """
            {"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},\
            "unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}""";

    static FunctionSpec weather() throws Exception {
        return FunctionSpec.of("get_current_weather", null, null, "Get the current weather in a given location.", null,
                JSON.readTree(WEATHER_PARAMETERS));
    }

    static FunctionSpec search() throws Exception {
        JsonNode parameters = JSON.readTree("""
                [{"name":"search_query","description":"搜索关键词或短语","required":true,"schema":{"type":"string"}}]""");
        return FunctionSpec.of(null, "google_search", "谷歌搜索", null,
                "谷歌搜索是一个通用搜索引擎，可用于访问互联网、查询百科知识、了解时事新闻等。 Format the arguments as a JSON object.", parameters);
    }

    @Test
    void toolLineFallsBackToNameAndDescription() throws Exception {
        assertEquals("get_current_weather: Call this tool to interact with the get_current_weather API. What is the "
                + "get_current_weather API useful for? Get the current weather in a given location. Parameters: {\"type\": "
                + "\"object\", \"properties\": {\"location\": {\"type\": \"string\", \"description\": \"The city and state, e.g. "
                + "San Francisco, CA\"}, \"unit\": {\"type\": \"string\", \"enum\": [\"celsius\", \"fahrenheit\"]}}, "
                + "\"required\": [\"location\"]}", ReactPrompt.toolLine(weather()));
    }

    @Test
    void toolLineUsesTheQwenSpecificNames() throws Exception {
        assertEquals("google_search: Call this tool to interact with the 谷歌搜索 API. What is the 谷歌搜索 API useful for? "
                + "谷歌搜索是一个通用搜索引擎，可用于访问互联网、查询百科知识、了解时事新闻等。 Format the arguments as a JSON object. "
                + "Parameters: [{\"name\": \"search_query\", \"description\": \"搜索关键词或短语\", \"required\": true, "
                + "\"schema\": {\"type\": \"string\"}}]", ReactPrompt.toolLine(search()));
    }

    @Test
    void instructionIsTheReferenceTemplate() throws Exception {
        String expected = """
                Answer the following questions as best you can. You have access to the following APIs:

                %s

                %s

                Use the following format:

                Question: the input question you must answer
                Thought: you should always think about what to do
                Action: the action to take, should be one of [get_current_weather, google_search]
                Action Input: the input to the action
                Observation: the result of the action
                ... (this Thought/Action/Action Input/Observation can be repeated zero or more times)
                Thought: I now know the final answer
                Final Answer: the final answer to the original input question

                Begin!""".formatted(ReactPrompt.toolLine(weather()), ReactPrompt.toolLine(search()));
        assertEquals(expected, ReactPrompt.instruction(List.of(weather(), search())));
    }

    @Test
    void missingParametersRenderAsAnEmptyObject() {
        assertEquals("f: Call this tool to interact with the f API. What is the f API useful for?  Parameters: {}",
                ReactPrompt.toolLine(FunctionSpec.of("f", null, null, null, null, null)));
    }
}
