package io.qwenserve.service.openai;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code /v1/chat/completions} and {@code /v1/models} over real HTTP, on the generated demo model. */
@QuarkusTest
class ChatCompletionsTest {
    @Inject
    EngineHolder holder;

    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    /** Requests the engine ended as CANCELLED so far. */
    double cancelled() {
        return registry.get("qwen.request_success").tag("finish_reason", "cancelled").counter().count();
    }

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    static String chat(String extra) {
        return "{\"model\": \"qwen\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"Hello there\"}], \"temperature\": 0, \"max_tokens\": 8" + extra + "}";
    }

    @Test
    void modelsListsTheLoadedModel() {
        JsonPath j = given().when().get("/v1/models").then().statusCode(200).contentType(ContentType.JSON)
                .body("object", equalTo("list")).extract().jsonPath();
        assertEquals(1, j.getList("data").size());
        assertEquals("model", j.getString("data[0].object"));
        assertEquals(holder.modelDir().getFileName().toString(), j.getString("data[0].id"));
        assertTrue(j.getInt("data[0].max_model_len") > 0);
    }

    @Test
    void aWholeChatCompletion() {
        JsonPath j = given().contentType(ContentType.JSON).body(chat("")).when().post("/v1/chat/completions")
                .then().statusCode(200).contentType(ContentType.JSON).body("object", equalTo("chat.completion"))
                .body("id", startsWith("chatcmpl-")).extract().jsonPath();
        assertEquals(1, j.getList("choices").size());
        assertEquals("assistant", j.getString("choices[0].message.role"));
        assertNotNull(j.getString("choices[0].message.content"));
        assertTrue(List.of("stop", "length").contains(j.getString("choices[0].finish_reason")));
        int prompt = j.getInt("usage.prompt_tokens");
        int completion = j.getInt("usage.completion_tokens");
        assertTrue(prompt > 5, "the ChatML prompt has more than the words: " + prompt);
        assertTrue(completion >= 1 && completion <= 8, "completion tokens " + completion);
        assertEquals(prompt + completion, j.getInt("usage.total_tokens"));
        assertNull(j.get("choices[0].message.tool_calls"), "no tool_calls without tools");
    }

    @Test
    void aRepeatedLongPromptIsServedFromThePrefixCache() {
        String system = "You answer questions about the JVM. ".repeat(12); // several full KV blocks of one prompt
        String body = "{\"messages\": [{\"role\": \"system\", \"content\": \"" + system + "\"},"
                + " {\"role\": \"user\", \"content\": \"What is a safepoint?\"}], \"temperature\": 0, \"max_tokens\": 2}";
        double hitsBefore = registry.get("qwen.prefix_cache_hits").counter().count();
        given().contentType(ContentType.JSON).body(body).when().post("/v1/chat/completions").then().statusCode(200);
        JsonPath again = given().contentType(ContentType.JSON).body(body).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        int prompt = again.getInt("usage.prompt_tokens");
        int cached = again.getInt("usage.prompt_tokens_details.cached_tokens");
        assertTrue(cached >= prompt - 16 && cached < prompt, "all full blocks but the last token's: " + cached + " of " + prompt);
        assertTrue(registry.get("qwen.prefix_cache_hits").counter().count() >= hitsBefore + cached);
        String metrics = given().get("/q/metrics").asString();
        assertTrue(metrics.contains("qwen_prefix_cache_queries_total") && metrics.contains("qwen_prefix_cache_hits_total"), metrics);
    }

    @Test
    void aStreamedChatCompletionSaysTheSameAsTheWholeOne() throws Exception {
        String whole = given().contentType(ContentType.JSON).body(chat("")).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath().getString("choices[0].message.content");

        Sse.Raw raw = Sse.post("/v1/chat/completions", chat(", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, raw.status());
        assertTrue(raw.contentType().startsWith("text/event-stream"), raw.contentType());
        List<JsonNode> events = raw.events();
        assertTrue(events.size() >= 3, raw.body());
        JsonNode first = events.get(0);
        assertEquals("chat.completion.chunk", first.path("object").asText());
        assertEquals("assistant", first.path("choices").path(0).path("delta").path("role").asText());
        StringBuilder text = new StringBuilder();
        String finish = null;
        String id = first.path("id").asText();
        for (JsonNode e : events.subList(0, events.size() - 1)) {
            assertEquals(id, e.path("id").asText(), "one id for the whole stream");
            JsonNode c = e.path("choices").path(0);
            text.append(c.path("delta").path("content").asText(""));
            if (!c.path("finish_reason").isNull() && !c.path("finish_reason").isMissingNode()) {
                assertNull(finish, "one finish reason");
                finish = c.path("finish_reason").asText();
            }
        }
        assertEquals(whole, text.toString());
        assertTrue(List.of("stop", "length").contains(finish), finish);
        JsonNode usage = events.get(events.size() - 1);
        assertEquals(0, usage.path("choices").size(), "the usage chunk has no choices");
        assertEquals(usage.path("usage").path("prompt_tokens").asInt() + usage.path("usage").path("completion_tokens").asInt(),
                usage.path("usage").path("total_tokens").asInt());
        assertTrue(usage.path("usage").path("completion_tokens").asInt() >= 1);
    }

    @Test
    void withoutIncludeUsageAStreamHasNoUsageChunk() throws Exception {
        List<JsonNode> events = Sse.post("/v1/chat/completions", chat(", \"stream\": true")).events();
        for (JsonNode e : events) {
            assertTrue(e.path("usage").isMissingNode() || e.path("usage").isNull(), e.toString());
            assertEquals(1, e.path("choices").size());
        }
    }

    @Test
    void severalChoicesWithLogprobs() {
        JsonPath j = given().contentType(ContentType.JSON)
                .body(chat(", \"n\": 2, \"seed\": 7, \"temperature\": 0.9, \"logprobs\": true, \"top_logprobs\": 2"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(2, j.getList("choices").size());
        assertEquals(1, j.getInt("choices[1].index"));
        List<Object> content = j.getList("choices[0].logprobs.content");
        assertFalse(content.isEmpty());
        assertEquals(j.getInt("usage.completion_tokens"), content.size() + j.getList("choices[1].logprobs.content").size());
        assertEquals(2, j.getList("choices[0].logprobs.content[0].top_logprobs").size());
        assertTrue(j.getDouble("choices[0].logprobs.content[0].logprob") <= 0);
        // the same seed gives the same answers
        JsonPath again = given().contentType(ContentType.JSON)
                .body(chat(", \"n\": 2, \"seed\": 7, \"temperature\": 0.9"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(j.getString("choices[1].message.content"), again.getString("choices[1].message.content"));
    }

    @Test
    void aStopStringEndsTheAnswerBeforeIt() {
        String free = given().contentType(ContentType.JSON).body(chat("").replace("\"max_tokens\": 8", "\"max_tokens\": 24"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath()
                .getString("choices[0].message.content");
        assertTrue(free.length() >= 6, "need some text to cut: '" + free + "'");
        String stop = free.substring(free.length() / 2, free.length() / 2 + 2);
        int cut = free.indexOf(stop);
        JsonPath j = given().contentType(ContentType.JSON)
                .body(chat(", \"stop\": " + Sse.JSON.valueToTree(stop)).replace("\"max_tokens\": 8", "\"max_tokens\": 24"))
                .when().post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(free.substring(0, cut), j.getString("choices[0].message.content"));
        assertEquals("stop", j.getString("choices[0].finish_reason"));
    }

    @Test
    void toolsAreAcceptedAndTheCallRoundTripIsValid() {
        String tools = ", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\":"
                + " \"The weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}]";
        JsonPath plain = given().contentType(ContentType.JSON).body(chat("")).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        JsonPath withTools = given().contentType(ContentType.JSON).body(chat(tools)).when().post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        assertTrue(withTools.getInt("usage.prompt_tokens") > plain.getInt("usage.prompt_tokens") + 100,
                "the ReAct instruction is in the prompt");
        String reason = withTools.getString("choices[0].finish_reason");
        assertTrue(List.of("stop", "length", "tool_calls").contains(reason), reason);
        // the second leg: the assistant's call and the tool's result
        String followUp = "{\"model\": \"qwen\", \"temperature\": 0, \"max_tokens\": 8" + tools + ", \"messages\": ["
                + "{\"role\": \"user\", \"content\": \"Weather in Paris?\"},"
                + "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
                + " \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
                + "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"sunny\"}]}";
        given().contentType(ContentType.JSON).body(followUp).when().post("/v1/chat/completions").then().statusCode(200)
                .body("object", equalTo("chat.completion"));
        String stream = followUp.replace("\"max_tokens\": 8", "\"max_tokens\": 8, \"stream\": true");
        given().contentType(ContentType.JSON).body(stream).when().post("/v1/chat/completions").then().statusCode(200)
                .contentType(startsWith("text/event-stream"));
    }

    @Test
    void invalidFieldsAre400NamingTheField() {
        error(chat(", \"temperature\": -1"), 400, "temperature");
        error(chat(", \"max_tokens\": 100000000"), 400, "max_tokens");
        error(chat(", \"n\": 0"), 400, "n");
        error(chat(", \"top_logprobs\": 3"), 400, "top_logprobs");
        error("{\"model\": \"qwen\", \"messages\": []}", 400, "messages");
        error("{\"model\": \"qwen\", \"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", 400, "messages[0].role");
        error("{\"model\": \"qwen\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": \"hot\"}", 400, "temperature");
        given().contentType(ContentType.JSON).body("{not json").when().post("/v1/chat/completions").then().statusCode(400)
                .contentType(ContentType.JSON).body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    void anUnknownModelIs404() {
        given().contentType(ContentType.JSON).body(chat("").replace("\"qwen\"", "\"gpt-4o\"")).when().post("/v1/chat/completions")
                .then().statusCode(404).contentType(ContentType.JSON).body("error.code", equalTo("model_not_found"))
                .body("error.param", equalTo("model"));
    }

    @Test
    void aPromptBeyondTheContextIs400ContextLengthExceeded() {
        String huge = "word ".repeat(holder.engine().maxModelLen() + 10);
        given().contentType(ContentType.JSON).body("{\"messages\": [{\"role\": \"user\", \"content\": \"" + huge + "\"}]}")
                .when().post("/v1/chat/completions").then().statusCode(400).contentType(ContentType.JSON)
                .body("error.code", equalTo("context_length_exceeded"));
    }

    @Test
    void aClientThatGoesAwayCancelsItsGenerationAndFreesItsBlocks() throws Exception {
        double cancelledBefore = cancelled();
        HttpClient client = HttpClient.newHttpClient();
        String body = chat(", \"stream\": true").replace("\"max_tokens\": 8", "\"max_tokens\": 3000");
        HttpResponse<java.io.InputStream> r = client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + Sse.port()
                + "/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        int events = 0;
        for (String line; events < 3 && (line = in.readLine()) != null; ) {
            events += line.startsWith("data: ") ? 1 : 0;
        }
        assertEquals(3, events);
        assertTrue(holder.engine().stats().running() >= 1 || holder.engine().stats().kvBlocksUsed() > 0, "generating");
        r.body().close(); // the client goes away mid-answer
        holder.engine().awaitStats(s -> s.running() == 0 && s.kvBlocksUsed() == 0, Duration.ofSeconds(15));
        holder.engine().checkInvariants();
        assertEquals(0, holder.engine().stats().running(), "the generation was cancelled");
        assertEquals(0, holder.engine().stats().kvBlocksUsed(), "its blocks were freed");
        assertEquals(cancelledBefore + 1, cancelled(), "it ended as cancelled, not by itself");
    }

    @Test
    void aClientThatGoesAwayBeforeAWholeAnswerCancelsItToo() throws Exception {
        double cancelledBefore = cancelled();
        byte[] body = chat("").replace("\"max_tokens\": 8", "\"max_tokens\": 3000").getBytes(StandardCharsets.UTF_8);
        try (java.net.Socket socket = new java.net.Socket("localhost", Sse.port())) {
            socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(body);
            socket.getOutputStream().flush();
            assertEquals(1, holder.engine().awaitStats(s -> s.running() >= 1, Duration.ofSeconds(10)).running(), "generating");
        } // the client goes away without its answer
        holder.engine().awaitStats(s -> s.running() == 0 && s.kvBlocksUsed() == 0, Duration.ofSeconds(15));
        assertEquals(0, holder.engine().stats().running(), "the generation was cancelled");
        assertEquals(0, holder.engine().stats().kvBlocksUsed(), "its blocks were freed");
        assertEquals(cancelledBefore + 1, cancelled(), "it ended as cancelled, not by itself");
    }

    static void error(String body, int status, String param) {
        given().contentType(ContentType.JSON).body(body).when().post("/v1/chat/completions").then().statusCode(status)
                .contentType(ContentType.JSON).body("error.param", equalTo(param))
                .body("error.type", equalTo("invalid_request_error"));
    }
}
