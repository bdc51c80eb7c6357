package io.qwenserve.service.kafka;

import static org.junit.jupiter.api.Assertions.*;

import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.client.ReplyStream;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.Await;
import io.qwenserve.service.FaultFigures;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.ServiceProcess;
import io.qwenserve.service.security.ApiKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The broker stops mid-run ({@code bin/kafka stop}) and comes back on its data ({@code bin/kafka start --keep-data}),
 * against the packaged service as a real process: HTTP and gRPC stay ready and keep serving throughout, Kafka's own
 * health check says the broker is away (at once, from its cached state), and every Kafka request, sent before or
 * during the outage, completes once the broker is back; what a redo repeats is dropped by token index.
 */
class BrokerOutageIT {
    private static final long PID = ProcessHandle.current().pid();
    private static final Pattern IN_FLIGHT = Pattern.compile("\"in_flight\"\\s*:\\s*(\\d+)");

    @Test
    void httpAndGrpcStayReadyAndEveryKafkaRequestCompletesAfterTheBrokerComesBack() throws Exception {
        Path state = Path.of("target", "kafka-outage-" + PID).toAbsolutePath();
        String bootstrap = kafka(state, "start", "--port", Integer.toString(ServiceProcess.freePort()), "--owner-pid", Long.toString(PID));
        ExecutorService senders = Executors.newFixedThreadPool(10);
        try (ServiceProcess service = ServiceProcess.start("outage-service", Map.of("qwen.kafka.enabled", "true",
                "kafka.bootstrap.servers", bootstrap, "qwen.kafka.request-partitions", "2"));
             KafkaChatClient client = new KafkaChatClient(bootstrap);
             GrpcTestClient grpc = new GrpcTestClient(service.port)) {
            Await.until(Duration.ofSeconds(60), "Kafka is up", () -> service.status("/q/health/group/kafka") == 200);
            Map<String, ReplyStream> streams = new LinkedHashMap<>();
            for (int i = 0; i < 20; i++) {
                String id = "before-outage-" + PID + "-" + i;
                streams.put(id, client.chat(KafkaBridgeTest.chat(id, "a story about number " + i, 24)));
            }
            Await.until(Duration.ofSeconds(60), "Kafka requests are generating", () -> inFlight(service) > 0);

            kafka(state, "stop");
            long stopped = System.nanoTime();
            Await.until(Duration.ofSeconds(30), "the Kafka health check reports the broker away",
                    () -> service.status("/q/health/group/kafka") == 503);
            long slowestKafkaCheckMs = 0;
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                assertEquals(503, service.status("/q/health/group/kafka"));
                slowestKafkaCheckMs = Math.max(slowestKafkaCheckMs, (System.nanoTime() - t0) / 1_000_000);
            }
            assertTrue(service.get("/q/health/group/kafka").contains("broker unreachable"));
            assertEquals(200, service.readyStatus(), "readiness is about this replica serving, not the broker");
            assertEquals(200, service.status("/q/health/live"), "a broker outage is no reason to restart the pod");
            assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(grpc.channel).check(HealthCheckRequest.getDefaultInstance())
                    .getStatus());
            List<GenerateResponse> overGrpc = GrpcTestClient.collect(grpc.blocking().chat(GrpcTestClient.chat("grpc-during-outage", "hi", 4)));
            assertTrue(overGrpc.get(overGrpc.size() - 1).hasFinal(), "gRPC serves during the outage");
            assertTrue(httpChat(service.port).contains("\"chat.completion\""), "HTTP serves during the outage");
            // a producer waits (up to its max.block.ms) for the topic's metadata while the broker is away: send from threads
            List<CompletableFuture<ReplyStream>> sentDuringOutage = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String id = "during-outage-" + PID + "-" + i;
                sentDuringOutage.add(CompletableFuture.supplyAsync(() -> client.chat(KafkaBridgeTest.chat(id, "sent while away " + id, 24)),
                        senders));
            }
            long outageMs = (System.nanoTime() - stopped) / 1_000_000;

            long restarting = System.nanoTime();
            kafka(state, "start", "--keep-data", "--owner-pid", Long.toString(PID));
            long brokerStartMs = (System.nanoTime() - restarting) / 1_000_000;
            for (CompletableFuture<ReplyStream> f : sentDuringOutage) {
                ReplyStream r = f.get(120, TimeUnit.SECONDS);
                streams.put(r.id(), r);
            }
            int completed = 0;
            int failed = 0;
            int lost = 0;
            int duplicated = 0;
            for (var e : streams.entrySet()) {
                try {
                    List<GenerateResponse> rs = e.getValue().collect(Duration.ofSeconds(180));
                    KafkaBridgeTest.assertComplete(e.getKey(), rs);
                    if (rs.get(rs.size() - 1).hasFinal()) {
                        completed++;
                    } else {
                        failed++;
                    }
                } catch (TimeoutException t) {
                    lost++;
                }
                duplicated += e.getValue().duplicates() > 0 ? 1 : 0;
            }
            long recoverMs = (System.nanoTime() - restarting) / 1_000_000; // from the restart command to the last request done
            Await.until(Duration.ofSeconds(30), "the Kafka health check reports the broker back",
                    () -> service.status("/q/health/group/kafka") == 200);
            FaultFigures.report("broker stopped (bin/kafka stop) and restarted on its data (bin/kafka start --keep-data) mid-run",
                    streams.size(), completed, failed, lost, duplicated, recoverMs, "outage " + outageMs + " ms, then the broker's own "
                            + "restart " + brokerStartMs + " ms (part of the time to recover); HTTP and gRPC ready and serving throughout; "
                            + "Kafka health check answered in <= " + slowestKafkaCheckMs + " ms while the broker was away");
            assertEquals(streams.size(), completed, "every Kafka request completed (failed " + failed + ", lost " + lost + ")");
            assertTrue(service.logText().contains(ApiKeys.OPEN_WARNING), "the log warns that no API key is set");
        } finally {
            senders.shutdownNow();
            kafka(state, "stop");
        }
    }

    private static int inFlight(ServiceProcess service) {
        try {
            Matcher m = IN_FLIGHT.matcher(service.get("/q/health/group/kafka"));
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private static String httpChat(int port) throws Exception {
        var client = java.net.http.HttpClient.newHttpClient();
        var r = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://localhost:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    /** Runs {@code bin/kafka} on a state folder of this test's own (never a broker named by KAFKA_BOOTSTRAP_SERVERS). */
    static String kafka(Path state, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of("..", "bin", "kafka").toAbsolutePath().normalize().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("KAFKA_STATE_DIR", state.toString());
        pb.environment().remove("KAFKA_BOOTSTRAP_SERVERS");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "bin/kafka " + String.join(" ", args));
        assertEquals(0, p.exitValue(), "bin/kafka " + String.join(" ", args) + ": " + out);
        return out;
    }
}
