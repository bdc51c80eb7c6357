package io.qwenserve.loadtest;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** comparison.json: per-round ratios to the in-process engine, and TTFT / added TTFT at p50 and p99 (lower median over rounds). */
class TransportComparisonTest {
    @Test
    void ratiosAndTtftPercentilesPerTransport(@TempDir Path dir) throws Exception {
        for (int round = 1; round <= 2; round++) {
            Files.writeString(dir.resolve("inproc-" + round + ".json"), "{\"results\":[{\"output_tokens_per_s\":100,"
                    + "\"ttft_ms_p50\":" + (10 * round) + ",\"ttft_ms_p99\":" + (20 * round) + "}]}");
            Path kafka = Files.createDirectories(dir.resolve("kafka-" + round));
            Files.writeString(kafka.resolve("summary.json"), "{\"output_tokens_per_s\":" + (80 + 10 * round) + ","
                    + "\"ttft_ms\":{\"p50\":30,\"p99\":60},\"added_ttft_ms\":{\"p50\":" + (4 * round) + ",\"p99\":" + (8 * round) + "},"
                    + "\"requests_failed\":{}}");
        }
        ObjectNode c = TransportComparison.compare(dir);
        assertEquals(10.0, c.path("inproc").path("ttft_ms_p50").asDouble(), 1e-9);
        assertEquals(20.0, c.path("inproc").path("ttft_ms_p99").asDouble(), 1e-9);
        ObjectNode k = (ObjectNode) c.path("targets").path("kafka");
        assertEquals(0.95, k.path("ratio_to_inproc").asDouble(), 1e-9);
        assertEquals(2, k.path("ratio_to_inproc_per_round").size());
        assertEquals(60.0, k.path("ttft_ms_p99").asDouble(), 1e-9);
        assertEquals(4.0, k.path("added_ttft_ms_p50").asDouble(), 1e-9);
        assertEquals(8.0, k.path("added_ttft_ms_p99").asDouble(), 1e-9);
        assertEquals(0, k.path("requests_failed").asInt());
    }
}
