package io.qwenserve.service.openai;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Structured output over real HTTP on the demo model (random weights, so its free output is noise): response_format,
 * structured_outputs and constrained tool calls give outputs that parse and validate; unsupported formats are 400.
 */
@QuarkusTest
class StructuredOutputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PERSON = "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"maxLength\": 10},"
            + " \"age\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 120}, \"tags\": {\"type\": \"array\", \"maxItems\": 2,"
            + " \"items\": {\"enum\": [\"a\", \"b\"]}}}, \"required\": [\"name\", \"age\"], \"additionalProperties\": false}";
    static final String WEATHER = "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"maxLength\": 12},"
            + " \"unit\": {\"enum\": [\"c\", \"f\"]}}, \"required\": [\"city\"], \"additionalProperties\": false}";
    static final String TIME = "{\"type\": \"object\", \"properties\": {\"zone\": {\"enum\": [\"UTC\", \"CET\"]}},"
            + " \"required\": [\"zone\"], \"additionalProperties\": false}";
    static final String TOOLS = ", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\":"
            + " \"The weather in a city\", \"parameters\": " + WEATHER + "}}, {\"type\": \"function\", \"function\": {\"name\":"
            + " \"get_time\", \"description\": \"The time\", \"parameters\": " + TIME + "}}]";
    static final Map<String, String> SCHEMAS = Map.of("get_weather", WEATHER, "get_time", TIME);

    @Inject
    EngineHolder holder;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    static String chat(String extra) {
        return "{\"model\": \"qwen\", \"messages\": [{\"role\": \"user\", \"content\": \"Answer in JSON.\"}],"
                + " \"temperature\": 1, \"seed\": 5, \"max_tokens\": 600" + extra + "}";
    }

    static void assertValid(String schema, String text) throws Exception {
        JsonNode value = JSON.readTree(text);
        var validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema,
                SchemaValidatorsConfig.builder().build());
        assertEquals(Set.of(), validator.validate(value), text);
    }

    @Test
    void jsonSchemaChoicesParseAndValidate() throws Exception {
        JsonPath j = given().contentType(ContentType.JSON).body(chat(", \"n\": 3, \"response_format\": {\"type\": \"json_schema\","
                + " \"json_schema\": {\"name\": \"person\", \"strict\": true, \"schema\": " + PERSON + "}}"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(3, j.getList("choices").size());
        for (int i = 0; i < 3; i++) {
            assertEquals("stop", j.getString("choices[" + i + "].finish_reason"));
            assertValid(PERSON, j.getString("choices[" + i + "].message.content"));
        }
    }

    @Test
    void streamedJsonObjectAndCompletionsRegexAndChoice() throws Exception {
        Sse.Raw raw = Sse.post("/v1/chat/completions", chat(", \"max_tokens\": 300, \"stream\": true,"
                + " \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"p\", \"schema\": " + PERSON + "}}"));
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode e : raw.events()) {
            JsonNode c = e.path("choices").path(0);
            text.append(c.path("delta").path("content").asText(""));
            if (!c.path("finish_reason").isNull() && !c.path("finish_reason").isMissingNode()) {
                finish = c.path("finish_reason").asText();
            }
        }
        assertEquals("stop", finish);
        assertValid(PERSON, text.toString());

        String regex = "[A-Z]{2}-\\\\d{3}";
        JsonPath r = given().contentType(ContentType.JSON).body("{\"model\": \"qwen\", \"prompt\": \"Code:\", \"temperature\": 1,"
                + " \"max_tokens\": 20, \"structured_outputs\": {\"regex\": \"" + regex + "\"}}").when().post("/v1/completions")
                .then().statusCode(200).extract().jsonPath();
        assertTrue(Pattern.matches("[A-Z]{2}-\\d{3}", r.getString("choices[0].text")), r.getString("choices[0].text"));
        JsonPath c = given().contentType(ContentType.JSON).body(chat(", \"structured_outputs\": {\"choice\": [\"yes\", \"no\"]}"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertTrue(List.of("yes", "no").contains(c.getString("choices[0].message.content")));
        JsonPath o = given().contentType(ContentType.JSON).body(chat(", \"max_tokens\": 8, \"response_format\": {\"type\": \"json_object\"}"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals("length", o.getString("choices[0].finish_reason"), "cut by max_tokens: length, like OpenAI");
    }

    @Test
    void unsupportedFormatsAre400NamingTheProblem() {
        given().contentType(ContentType.JSON).body(chat(", \"response_format\": {\"type\": \"json_schema\", \"json_schema\":"
                + " {\"name\": \"x\", \"schema\": {\"type\": \"array\", \"uniqueItems\": true}}}")).when().post("/v1/chat/completions")
                .then().statusCode(400).body("error.param", equalTo("response_format"))
                .body("error.type", equalTo("invalid_request_error")).body("error.message", containsString("uniqueItems"));
        given().contentType(ContentType.JSON).body(chat(", \"structured_outputs\": {\"regex\": \"(?=a)b\"}"))
                .when().post("/v1/chat/completions").then().statusCode(400).body("error.param", equalTo("response_format"))
                .body("error.message", containsString("lookaround"));
        given().contentType(ContentType.JSON).body(chat(", \"response_format\": {\"type\": \"xml\"}"))
                .when().post("/v1/chat/completions").then().statusCode(400).body("error.param", equalTo("response_format.type"));
        given().contentType(ContentType.JSON).body(chat(", \"structured_outputs\": {\"grammar\": \"root ::= x\"}"))
                .when().post("/v1/chat/completions").then().statusCode(400).body("error.param", equalTo("structured_outputs.grammar"));
        given().contentType(ContentType.JSON).body(chat(", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\","
                + " \"parameters\": {\"type\": \"object\", \"not\": {}}}}]")).when().post("/v1/chat/completions")
                .then().statusCode(400).body("error.param", equalTo("tools")).body("error.message", containsString("not"));
    }

    private static void assertToolCall(JsonNode call, String expectedName) throws Exception {
        String name = call.path("function").path("name").asText();
        if (expectedName != null) {
            assertEquals(expectedName, name, call.toString());
        }
        assertTrue(SCHEMAS.containsKey(name), name);
        assertValid(SCHEMAS.get(name), call.path("function").path("arguments").asText());
    }

    @Test
    void requiredAndNamedToolChoicesAlwaysGiveValidCalls() throws Exception {
        for (int seed = 0; seed < 3; seed++) {
            String body = chat(TOOLS + ", \"tool_choice\": \"required\"").replace("\"seed\": 5", "\"seed\": " + seed);
            JsonNode whole = JSON.readTree(given().contentType(ContentType.JSON).body(body).when().post("/v1/chat/completions")
                    .then().statusCode(200).extract().asString());
            JsonNode choice = whole.path("choices").path(0);
            assertEquals("tool_calls", choice.path("finish_reason").asText(), choice.toString());
            assertToolCall(choice.path("message").path("tool_calls").path(0), null);
        }
        String named = chat(TOOLS + ", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}");
        JsonNode whole = JSON.readTree(given().contentType(ContentType.JSON).body(named).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().asString());
        assertEquals("tool_calls", whole.path("choices").path(0).path("finish_reason").asText(), whole.toString());
        assertToolCall(whole.path("choices").path(0).path("message").path("tool_calls").path(0), "get_time");

        Sse.Raw raw = Sse.post("/v1/chat/completions", named.replace("\"max_tokens\": 600", "\"max_tokens\": 600, \"stream\": true"));
        String name = null;
        StringBuilder args = new StringBuilder();
        String finish = null;
        for (JsonNode e : raw.events()) {
            JsonNode c = e.path("choices").path(0);
            for (JsonNode tc : c.path("delta").path("tool_calls")) {
                if (tc.path("function").has("name")) {
                    name = tc.path("function").path("name").asText();
                }
                args.append(tc.path("function").path("arguments").asText(""));
            }
            if (c.hasNonNull("finish_reason")) {
                finish = c.path("finish_reason").asText();
            }
        }
        assertEquals("tool_calls", finish);
        assertEquals("get_time", name);
        assertValid(TIME, args.toString());
    }

    @Test
    void noneNeverCallsAndAutoCallsAreValid() throws Exception {
        JsonNode none = JSON.readTree(given().contentType(ContentType.JSON).body(chat(TOOLS + ", \"tool_choice\": \"none\","
                + " \"max_tokens\": 30")).when().post("/v1/chat/completions").then().statusCode(200).extract().asString());
        JsonNode c = none.path("choices").path(0);
        assertFalse(c.path("message").has("tool_calls") && !c.path("message").path("tool_calls").isNull(), c.toString());
        assertTrue(List.of("stop", "length").contains(c.path("finish_reason").asText()));
        for (int seed = 0; seed < 3; seed++) {
            JsonNode auto = JSON.readTree(given().contentType(ContentType.JSON).body(chat(TOOLS + ", \"max_tokens\": 60")
                    .replace("\"seed\": 5", "\"seed\": " + seed)).when().post("/v1/chat/completions").then().statusCode(200)
                    .extract().asString());
            JsonNode a = auto.path("choices").path(0);
            if (a.path("finish_reason").asText().equals("tool_calls")) {
                assertToolCall(a.path("message").path("tool_calls").path(0), null);
            } else {
                assertNull(a.path("message").get("tool_calls") == null || a.path("message").get("tool_calls").isNull() ? null : "calls");
            }
        }
    }
}
