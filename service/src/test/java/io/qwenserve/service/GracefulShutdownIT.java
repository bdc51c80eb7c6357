package io.qwenserve.service;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.proto.v1.FinishReason;
import io.qwenserve.proto.v1.GenerateResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** SIGTERM on the real process: readiness goes down, short requests finish, long ones end CANCELLED, the process exits. */
class GracefulShutdownIT {
    @Test
    void sigtermDrains() throws Exception {
        try (ServiceProcess svc = ServiceProcess.start("graceful-shutdown", Map.of("qwen.shutdown.grace", "4s"));
             GrpcTestClient client = new GrpcTestClient(svc.port)) {
            var shortStream = client.blocking().chat(GrpcTestClient.chat("short", "hi", 40));
            var longStream = client.blocking().chat(GrpcTestClient.chat("long", "go", 4000));
            GenerateResponse firstShort = shortStream.next(); // both running
            GenerateResponse firstLong = longStream.next();
            CompletableFuture<List<GenerateResponse>> shortOne = CompletableFuture.supplyAsync(() -> GrpcTestClient.collect(shortStream));
            CompletableFuture<List<GenerateResponse>> longOne = CompletableFuture.supplyAsync(() -> GrpcTestClient.collect(longStream));
            long t0 = System.nanoTime();
            svc.process.destroy(); // SIGTERM
            boolean sawNotReady = false;
            while (svc.process.isAlive() && (System.nanoTime() - t0) < 3_000_000_000L) {
                if (svc.readyStatus() != 200) {
                    sawNotReady = true;
                    break;
                }
                Thread.sleep(20);
            }
            assertTrue(sawNotReady, "readiness must go down during the drain");
            List<GenerateResponse> s = shortOne.get(30, TimeUnit.SECONDS);
            assertEquals(FinishReason.FINISH_REASON_LENGTH, s.get(s.size() - 1).getFinal().getFinishReason());
            List<GenerateResponse> l = longOne.get(30, TimeUnit.SECONDS);
            GenerateResponse last = l.get(l.size() - 1);
            assertTrue(last.hasFinal(), last.toString());
            assertEquals(FinishReason.FINISH_REASON_CANCELLED, last.getFinal().getFinishReason());
            assertTrue(svc.process.waitFor(30, TimeUnit.SECONDS), "process exits after the drain");
            assertTrue(svc.logText().contains("draining"), svc.logText());
        }
    }
}
