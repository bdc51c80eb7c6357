package io.qwenserve.service.openai;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API driven by real clients as separate processes: the official {@code openai} npm package, {@code curl -N}
 * for raw server-sent events, and the web chat page in headless Debian chromium through {@code playwright-core}
 * (scripts in {@code src/test/js}; {@code npm ci} runs here when their packages are missing). None of them is optional:
 * a missing node, npm, curl or chromium fails the test (bin/test installs chromium when it can).
 */
@QuarkusTest
class RealClientsTest {
    static final Path JS = Path.of("src/test/js");

    @Inject
    EngineHolder holder;

    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    @BeforeAll
    static void installPackages() throws Exception {
        if (!Files.isDirectory(JS.resolve("node_modules/openai")) || !Files.isDirectory(JS.resolve("node_modules/playwright-core"))) {
            Result r = run(600, "npm", "ci", "--no-audit", "--no-fund");
            assertEquals(0, r.exit, "npm ci in src/test/js failed:\n" + r.output);
        }
    }

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    record Result(int exit, String output, List<Long> lineMillis) {}

    /** Runs a command in src/test/js; output lines with their arrival times (ms after start). */
    static Result run(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(JS.toFile()).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        List<Long> times = new ArrayList<>();
        long t0 = System.nanoTime();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (out) {
                        out.append(line).append('\n');
                        times.add((System.nanoTime() - t0) / 1_000_000);
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(5000);
            fail(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s:\n" + out);
        }
        reader.join(5000);
        synchronized (out) {
            String shown = out.length() > 3000 ? out.substring(0, 1500) + "\n[...]\n" + out.substring(out.length() - 1500) : out.toString();
            System.out.println("$ " + String.join(" ", command) + "\n" + shown);
            return new Result(p.exitValue(), out.toString(), List.copyOf(times));
        }
    }

    static String base() {
        return "http://localhost:" + Sse.port();
    }

    void assertEngineIdle() throws Exception {
        holder.engine().awaitStats(s -> s.running() == 0 && s.waiting() == 0 && s.kvBlocksUsed() == 0, Duration.ofSeconds(15));
        holder.engine().checkInvariants();
        assertEquals(0, holder.engine().stats().running(), "no generation left running");
        assertEquals(0, holder.engine().stats().kvBlocksUsed(), "every KV block freed");
    }

    @Test
    void theOfficialOpenAiNpmClient() throws Exception {
        Result r = run(300, "node", "openai-client.mjs", base() + "/v1");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("ok function-call round trip"), r.output);
        assertTrue(r.output.contains("ok errors as OpenAI.APIError"), r.output);
        assertEngineIdle();
    }

    @Test
    void curlSeesServerSentEventsAsTheyAreGenerated() throws Exception {
        String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Count to a hundred\"}], \"max_tokens\": 300,"
                + " \"temperature\": 0.8, \"seed\": 1, \"stream\": true}";
        Result r = run(120, "curl", "-N", "-sS", "--fail-with-body", "-H", "Content-Type: application/json", "-d", body,
                base() + "/v1/chat/completions");
        assertEquals(0, r.exit, r.output);
        String[] lines = r.output.split("\n");
        List<Integer> dataLines = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].startsWith("data: ")) {
                dataLines.add(i);
            } else {
                assertTrue(lines[i].isEmpty() || lines[i].startsWith("$ "), "only data events and blank separators: " + lines[i]);
            }
        }
        assertTrue(dataLines.size() >= 10, r.output);
        assertEquals("data: [DONE]", lines[dataLines.get(dataLines.size() - 1)]);
        assertTrue(lines[dataLines.get(0)].contains("\"role\":\"assistant\""), lines[dataLines.get(0)]);
        // streamed, not buffered to the end: the events reach curl at more than one moment (no bound on how far apart)
        long distinct = dataLines.stream().map(r.lineMillis::get).distinct().count();
        assertTrue(distinct > 1, "events arrive over time, not at once: " + dataLines.stream().map(r.lineMillis::get).toList());
    }

    @Test
    void theChatPageInHeadlessChromium() throws Exception {
        double cancelledBefore = registry.get("qwen.request_success").tag("finish_reason", "cancelled").counter().count();
        Result r = run(300, "node", "chat-page.mjs", base() + "/");
        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("ok stopped"), r.output);
        assertTrue(r.output.contains("ok third turn"), r.output);
        assertEngineIdle();
        assertEquals(cancelledBefore + 1, registry.get("qwen.request_success").tag("finish_reason", "cancelled").counter().count(),
                "Stop closed the connection: the long generation was cancelled");
    }
}
