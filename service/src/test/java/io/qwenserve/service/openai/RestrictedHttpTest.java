package io.qwenserve.service.openai;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.sched.EngineStats;
import io.qwenserve.service.engine.EngineHolder;
import io.qwenserve.service.grpc.RestrictedProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.time.Duration;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** 401 without a valid bearer key, 429 when the queue is full, 503 while draining: the HTTP side of {@link RestrictedProfile}. */
@QuarkusTest
@TestProfile(RestrictedHttpTest.Profile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestrictedHttpTest {
    /** The gRPC test's settings, in an instance of its own (that test drains its engine). */
    public static class Profile extends RestrictedProfile {
    }

    static final String CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2}";
    static final String LONG = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 3000, \"stream\": true}";

    @Inject
    EngineHolder holder;

    @BeforeEach
    void ready() throws Exception {
        if (holder.state() == EngineHolder.State.LOADING) {
            holder.whenReady().get(120, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(1)
    void theApiNeedsABearerKey() {
        given().contentType(ContentType.JSON).body(CHAT).when().post("/v1/chat/completions").then().statusCode(401)
                .contentType(ContentType.JSON).body("error.code", equalTo("invalid_api_key")).header("WWW-Authenticate", "Bearer");
        given().header("Authorization", "Bearer nope").when().get("/v1/models").then().statusCode(401);
        given().header("Authorization", "Basic c2VjcmV0LWtleQ==").when().get("/v1/models").then().statusCode(401);
        given().header("Authorization", "Bearer second-key").contentType(ContentType.JSON).body(CHAT)
                .when().post("/v1/chat/completions").then().statusCode(200);
        given().header("Authorization", "Bearer secret-key").when().get("/v1/models").then().statusCode(200);
        // probes and the chat page stay open
        given().when().get("/q/health/live").then().statusCode(200);
    }

    static HttpResponse<InputStream> open(HttpClient client) throws Exception {
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + Sse.port() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer secret-key")
                .POST(HttpRequest.BodyPublishers.ofString(LONG)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        return r;
    }

    @Test
    @Order(2)
    void aFullQueueIs429() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> running = open(client);
        new BufferedReader(new InputStreamReader(running.body(), StandardCharsets.UTF_8)).readLine(); // admitted
        HttpResponse<InputStream> queued = open(client);
        holder.engine().awaitStats(s -> s.waiting() >= 1, Duration.ofSeconds(10));
        given().header("Authorization", "Bearer secret-key").contentType(ContentType.JSON).body(CHAT)
                .when().post("/v1/chat/completions").then().statusCode(429).contentType(ContentType.JSON)
                .body("error.code", equalTo("queue_full")).body("error.type", equalTo("rate_limit_error"));
        running.body().close();
        queued.body().close();
        EngineStats after = holder.engine().awaitStats(s -> s.running() == 0 && s.waiting() == 0, Duration.ofSeconds(15));
        assertEquals(0, after.running() + after.waiting(), "both cancelled by the disconnects");
    }

    @Test
    @Order(3)
    void drainingIs503() {
        holder.drain();
        given().header("Authorization", "Bearer secret-key").contentType(ContentType.JSON).body(CHAT)
                .when().post("/v1/chat/completions").then().statusCode(503).contentType(ContentType.JSON)
                .body("error.type", equalTo("server_error"));
        given().header("Authorization", "Bearer secret-key").contentType(ContentType.JSON).body("{\"prompt\": [1, 2]}")
                .when().post("/v1/completions").then().statusCode(503);
    }
}
