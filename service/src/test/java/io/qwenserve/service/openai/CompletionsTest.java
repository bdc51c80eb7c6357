package io.qwenserve.service.openai;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code /v1/completions} over real HTTP: text and token-id prompts, the body the load generator sends, stop strings. */
@QuarkusTest
class CompletionsTest {
    @Inject
    EngineHolder holder;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    /** What the engine itself generates greedily for a prompt: text, token count, finish reason. */
    record Direct(String text, int tokens, String finish) {}

    Direct generate(Prompt prompt, int maxTokens) throws Exception {
        StringBuilder text = new StringBuilder();
        Direct out = null;
        for (GenerationEvent e : holder.engine().submit(GenerationRequest.of("direct-" + System.nanoTime(), prompt,
                SamplingOptions.greedy(maxTokens))).drain()) {
            if (e instanceof GenerationEvent.Chunk c) {
                text.append(c.text());
            } else if (e instanceof GenerationEvent.Final f) {
                out = new Direct(text.toString(), f.usage().completionTokens(), TokenText.finishReason(f.reason()));
            }
        }
        return out;
    }

    String direct(Prompt prompt, int maxTokens) throws Exception {
        return generate(prompt, maxTokens).text();
    }

    @Test
    void aTokenIdPromptAsTheLoadGeneratorSendsIt() throws Exception {
        // the exact body of io.qwenserve.loadtest.HttpTarget for a --prompt-tokens workload
        String body = "{\"model\":\"qwen\",\"stream\":true,\"max_tokens\":10,\"temperature\":0,"
                + "\"stream_options\":{\"include_usage\":true},\"repetition_penalty\":1.0,\"prompt\":[11,22,33,44,55]}";
        Sse.Raw raw = Sse.post("/v1/completions", body);
        assertEquals(200, raw.status(), raw.body());
        List<JsonNode> events = raw.events();
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events) {
            assertEquals("text_completion", e.path("object").asText());
            text.append(e.path("choices").path(0).path("text").asText(""));
        }
        JsonNode usage = events.get(events.size() - 1).path("usage");
        assertEquals(5, usage.path("prompt_tokens").asInt());
        Direct d = generate(new Prompt.Ids(new int[] {11, 22, 33, 44, 55}), 10);
        assertEquals(d.tokens(), usage.path("completion_tokens").asInt());
        assertEquals(d.text(), text.toString());
        assertEquals(d.finish(), events.get(events.size() - 2).path("choices").path(0).path("finish_reason").asText());
    }

    /** Each choice is an engine request: prompts x n is capped ({@code qwen.http.max-choices}, 128 by default). */
    @Test
    void promptsTimesNIsCapped() {
        String prompts = "[" + "\"a\",".repeat(9) + "\"a\"]"; // 10 prompts
        given().contentType(ContentType.JSON).body("{\"prompt\": " + prompts + ", \"n\": 13, \"max_tokens\": 1}")
                .when().post("/v1/completions").then().statusCode(400).body("error.param", equalTo("n"))
                .body("error.message", equalTo("prompts x n must be <= 128 (qwen.http.max-choices), got 10 x 13"));
        given().contentType(ContentType.JSON).body("{\"prompt\": " + prompts + ", \"n\": 12, \"max_tokens\": 1}")
                .when().post("/v1/completions").then().statusCode(200).body("choices.size()", equalTo(120));
    }

    @Test
    void aTextPromptWhole() throws Exception {
        JsonPath j = given().contentType(ContentType.JSON)
                .body("{\"prompt\": \"The capital of France is\", \"max_tokens\": 6, \"temperature\": 0, \"repetition_penalty\": 1}")
                .when().post("/v1/completions").then().statusCode(200).contentType(ContentType.JSON)
                .body("object", equalTo("text_completion")).extract().jsonPath();
        Direct d = generate(new Prompt.Text("The capital of France is"), 6);
        assertEquals(d.text(), j.getString("choices[0].text"));
        assertEquals(d.tokens(), j.getInt("usage.completion_tokens"));
        assertEquals(d.finish(), j.getString("choices[0].finish_reason"));
    }

    @Test
    void severalPromptsAndLogprobs() {
        JsonPath j = given().contentType(ContentType.JSON)
                .body("{\"prompt\": [\"one\", [1, 2, 3]], \"n\": 2, \"max_tokens\": 3, \"seed\": 3, \"logprobs\": 2}")
                .when().post("/v1/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(4, j.getList("choices").size());
        int tokens = 0;
        for (int i = 0; i < 4; i++) {
            assertEquals(i, j.getInt("choices[" + i + "].index"));
            int n = j.getList("choices[" + i + "].logprobs.tokens").size();
            assertEquals(n, j.getList("choices[" + i + "].logprobs.token_logprobs").size());
            tokens += n;
        }
        assertTrue(j.getMap("choices[0].logprobs.top_logprobs[0]").size() <= 2);
        assertEquals(tokens, j.getInt("usage.completion_tokens"));
    }

    @Test
    void aStopStringCutsTheStream() throws Exception {
        String free = direct(new Prompt.Ids(new int[] {7, 8, 9}), 24);
        assertTrue(free.length() >= 6, free);
        String stop = free.substring(free.length() / 2, free.length() / 2 + 2);
        String body = "{\"prompt\": [7, 8, 9], \"max_tokens\": 24, \"temperature\": 0, \"repetition_penalty\": 1, \"stream\": true,"
                + " \"stop\": [\"never-there\", " + Sse.JSON.valueToTree(stop) + "]}";
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode e : Sse.post("/v1/completions", body).events()) {
            text.append(e.path("choices").path(0).path("text").asText(""));
            if (e.path("choices").path(0).hasNonNull("finish_reason")) {
                finish = e.path("choices").path(0).path("finish_reason").asText();
            }
        }
        assertEquals(free.substring(0, free.indexOf(stop)), text.toString());
        assertEquals("stop", finish);
    }

    @Test
    void badPromptsAre400() {
        given().contentType(ContentType.JSON).body("{\"max_tokens\": 3}").when().post("/v1/completions").then().statusCode(400)
                .body("error.param", equalTo("prompt"));
        given().contentType(ContentType.JSON).body("{\"prompt\": [1, \"x\"]}").when().post("/v1/completions").then().statusCode(400)
                .body("error.param", equalTo("prompt"));
        given().contentType(ContentType.JSON).body("{\"prompt\": [999999999]}").when().post("/v1/completions").then().statusCode(400)
                .body("error.type", equalTo("invalid_request_error"));
        given().contentType(ContentType.JSON).body("{\"prompt\": \"x\", \"repetition_penalty\": 0}").when().post("/v1/completions")
                .then().statusCode(400).body("error.param", equalTo("repetition_penalty"));
    }
}
