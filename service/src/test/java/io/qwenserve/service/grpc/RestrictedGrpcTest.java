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

    /** A key with a priority range may ask for a priority inside it; another key's priority is ignored, not refused. */
    @Test
    @Order(2)
    void onlyAKeyWithTheRightChoosesAPriority() {
        var inRange = GrpcTestClient.collect(client.blocking("secret-key").chat(GrpcTestClient.chat("p-in", "hi", 2).toBuilder()
                .setPriority(-5).build()));
        assertTrue(inRange.get(inRange.size() - 1).hasFinal());
        StatusRuntimeException outside = assertThrows(StatusRuntimeException.class, () -> GrpcTestClient.collect(
                client.blocking("secret-key").chat(GrpcTestClient.chat("p-out", "hi", 2).toBuilder().setPriority(9).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, outside.getStatus().getCode());
        assertEquals("priority must be in [-5, 5] for this caller, got 9", outside.getStatus().getDescription());
        var noRight = GrpcTestClient.collect(client.blocking("second-key").chat(GrpcTestClient.chat("p-none", "hi", 2).toBuilder()
                .setPriority(-100).build()));
        assertTrue(noRight.get(noRight.size() - 1).hasFinal(), "runs, at the default priority");
    }

    /** With keys configured, only health stays open: server reflection needs a key too. */
    @Test
    @Order(2)
    void reflectionNeedsAKey() throws Exception {
        java.util.concurrent.CompletableFuture<Status> closed = new java.util.concurrent.CompletableFuture<>();
        var requests = io.grpc.reflection.v1.ServerReflectionGrpc.newStub(client.channel).serverReflectionInfo(
                new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(io.grpc.reflection.v1.ServerReflectionResponse r) {
                    }

                    @Override
                    public void onError(Throwable t) {
                        closed.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        closed.complete(Status.OK);
                    }
                });
        requests.onNext(io.grpc.reflection.v1.ServerReflectionRequest.newBuilder().setListServices("*").build());
        requests.onCompleted();
        assertEquals(Status.Code.UNAUTHENTICATED, closed.get(30, TimeUnit.SECONDS).getCode());
    }

    @Test
    @Order(3)
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
    @Order(4)
    void drainingIsUnavailableAndNotReady() {
        holder.drain();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> GrpcTestClient.collect(client.blocking("secret-key").chat(GrpcTestClient.chat("late", "x", 2))));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        given().when().get("/q/health/ready").then().statusCode(503);
    }
}
