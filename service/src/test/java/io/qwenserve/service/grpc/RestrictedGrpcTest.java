package io.qwenserve.service.grpc;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.*;

import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** UNAUTHENTICATED, RESOURCE_EXHAUSTED and UNAVAILABLE (draining), with API keys and a tiny queue. */
@QuarkusTest
@TestProfile(RestrictedProfile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestrictedGrpcTest {
    @Inject
    EngineHolder holder;

    static GrpcTestClient client;

    @BeforeEach
    void ready() throws Exception {
        if (holder.state() == EngineHolder.State.LOADING) {
            holder.whenReady().get(120, TimeUnit.SECONDS);
        }
        if (client == null) {
            client = new GrpcTestClient();
        }
    }

    @AfterAll
    static void close() throws Exception {
        client.close();
        client = null;
    }

    @Test
    @Order(1)
    void callsWithoutAValidKeyAreUnauthenticated() {
        StatusRuntimeException none = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(client.blocking().chat(GrpcTestClient.chat("a", "hi", 2))));
        assertEquals(Status.Code.UNAUTHENTICATED, none.getStatus().getCode());
        StatusRuntimeException wrong = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(client.blocking("nope").chat(GrpcTestClient.chat("b", "hi", 2))));
        assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
        var ok = GrpcTestClient.collect(client.blocking("second-key").chat(GrpcTestClient.chat("c", "hi", 2)));
        assertTrue(ok.get(ok.size() - 1).hasFinal());
        // health stays open for probes
        HealthGrpc.newBlockingStub(client.channel).check(HealthCheckRequest.newBuilder().build());
    }

    @Test
    @Order(2)
    void aFullQueueIsResourceExhausted() throws Exception {
        Iterator<GenerateResponse> running = client.blocking("secret-key").chat(GrpcTestClient.chat("run", "long", 3000));
        running.next(); // admitted: the only batch slot is taken
        Iterator<GenerateResponse> queued = client.blocking("secret-key").chat(GrpcTestClient.chat("queued", "wait", 3000));
        holder.engine().awaitStats(s -> s.waiting() >= 1, Duration.ofSeconds(10));
        StatusRuntimeException full = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(client.blocking("secret-key").chat(GrpcTestClient.chat("third", "x", 2))));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());
        assertTrue(full.getStatus().getDescription().contains("queue"), full.getStatus().getDescription());
        holder.engine().cancel("run");
        holder.engine().cancel("queued");
        GrpcTestClient.collect(running);
        GrpcTestClient.collect(queued);
    }

    @Test
    @Order(3)
    void drainingIsUnavailableAndNotReady() {
        holder.drain();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(client.blocking("secret-key").chat(GrpcTestClient.chat("late", "x", 2))));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        given().when().get("/q/health/ready").then().statusCode(503);
    }
}
