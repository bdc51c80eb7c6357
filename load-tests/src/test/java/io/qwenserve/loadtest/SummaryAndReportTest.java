package io.qwenserve.loadtest;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SummaryAndReportTest {
    static RequestResult ok(String id, long startMs, long... tokenMs) {
        long[] t = new long[tokenMs.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = tokenMs[i] * 1_000_000L;
        }
        return new RequestResult(id, startMs * 1_000_000L, t[t.length - 1], t, t.length, null);
    }

    @Test
    void summaryHasTheFieldsScriptsReadAndCorrectFigures() {
        List<RequestResult> rs = List.of(ok("a", 0, 100, 110, 120), ok("b", 0, 200, 205, 210, 215),
                new RequestResult("c", 0, 5_000_000, new long[0], 0, "UNAVAILABLE"));
        Summary s = Summary.of("grpc", LoadRun.Mode.closed(2), 3, rs);
        JsonNode j = s.toJson();
        assertEquals(2, j.get("requests_completed").asInt());
        assertEquals(1, j.get("requests_failed").get("UNAVAILABLE").asInt());
        assertEquals(7, j.get("output_tokens").asInt());
        assertEquals(7 / 0.215, j.get("output_tokens_per_s").asDouble(), 0.01);
        assertEquals(100, j.get("ttft_ms").get("p50").asDouble(), 1e-9);
        assertEquals(200, j.get("ttft_ms").get("p99").asDouble(), 1e-9);
        assertEquals(5, j.get("itl_ms").get("p50").asDouble(), 1e-9);
        assertEquals(10, j.get("itl_ms").get("p99").asDouble(), 1e-9);
        for (String f : List.of("requests_per_s", "e2e_ms")) {
            assertTrue(j.has(f), f);
        }
        for (String p : List.of("p50", "p90", "p99")) {
            assertTrue(j.get("e2e_ms").has(p));
        }
    }

    @Test
    void addedTtftIsClientMinusServerPerRequest() {
        RequestResult a = ok("a", 0, 100, 110);
        RequestResult b = ok("b", 0, 50, 60);
        List<RequestResult> rs = List.of(
                new RequestResult(a.id(), a.start(), a.end(), a.tokenTimes(), a.outputTokens(), null, 97.5),
                new RequestResult(b.id(), b.start(), b.end(), b.tokenTimes(), b.outputTokens(), null, 49.0));
        JsonNode j = Summary.of("grpc", LoadRun.Mode.closed(2), 2, rs).toJson();
        assertEquals(49.0, j.get("server_ttft_ms").get("p50").asDouble(), 1e-9);
        assertEquals(1.0, j.get("added_ttft_ms").get("p50").asDouble(), 1e-9);
        assertEquals(2.5, j.get("added_ttft_ms").get("p99").asDouble(), 1e-9);
        assertFalse(Summary.of("http", LoadRun.Mode.closed(2), 2, List.of(a, b)).toJson().has("added_ttft_ms"),
                "only where the transport reports the server's TTFT");
    }

    @Test
    void reportIsSelfContainedWithItsPlots() {
        List<RequestResult> rs = List.of(ok("a", 0, 100, 1100, 2100), ok("b", 500, 900, 1900));
        Summary s = Summary.of("http", LoadRun.Mode.open(2), 2, rs);
        String html = Report.html(s, rs, Report.perSecond(rs));
        assertTrue(html.contains("TTFT CDF"));
        assertTrue(html.contains("over time"));
        assertTrue(html.contains("against concurrency"));
        assertEquals(5, html.split("<svg").length - 1);
        assertFalse(html.contains("<script"), "no scripts, no network");
    }

    @Test
    void closedLoopRunIsBoundedInCountAndTime() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        LoadTarget fake = new LoadTarget() {
            @Override
            public RequestResult send(RequestSpec spec, long clock) {
                calls.incrementAndGet();
                long now = System.nanoTime() - clock;
                return new RequestResult(spec.id(), now, now + 1000, new long[] {now + 500}, 1, null);
            }

            @Override
            public String name() {
                return "fake";
            }
        };
        List<RequestResult> rs = new LoadRun(fake, Dataset.synthetic(1), LoadRun.Mode.closed(3), 5, 50, 10, "x").run(p -> { });
        assertEquals(50, rs.size());
        assertEquals(50, calls.get());
        List<RequestResult> open = new LoadRun(fake, Dataset.synthetic(1), LoadRun.Mode.open(200), 0.5, 1000, 10, "y").run(p -> { });
        assertTrue(open.size() > 30 && open.size() < 200, "Poisson arrivals at 200/s for 0.5 s: " + open.size());
    }
}
