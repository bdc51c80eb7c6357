package io.qwenserve.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ClusterReportTest {
    @Test
    void unansweredAndTimedOutRequestsAreLostOthersFailed() throws Exception {
        JsonNode s = new ObjectMapper().readTree("""
                {"requests_sent": 100, "requests_completed": 95, "requests_unfinished": 2,
                 "requests_failed": {"timeout": 1, "UNAVAILABLE": 2}, "requests_duplicated": 4,
                 "duplicate_messages_dropped": 37, "output_tokens_per_s": 12.5}""");
        JsonNode r = ClusterReport.report(s);
        assertEquals(100, r.get("sent").asInt());
        assertEquals(95, r.get("completed").asInt());
        assertEquals(2, r.get("failed").asInt());
        assertEquals(4, r.get("duplicated").asInt());
        assertEquals(3, r.get("lost").asInt());
    }

    @Test
    void unfinishedIsWhatNeitherCompletedNorFailed() {
        var rs = java.util.List.of(SummaryAndReportTest.ok("a", 0, 10, 20),
                new RequestResult("b", 0, 5, new long[0], 0, "UNAVAILABLE"));
        JsonNode j = Summary.of("kafka", LoadRun.Mode.closed(2), 4, rs).toJson();
        assertEquals(2, j.get("requests_unfinished").asInt());
    }
}
