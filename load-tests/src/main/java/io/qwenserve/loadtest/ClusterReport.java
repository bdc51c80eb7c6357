package io.qwenserve.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The verdict of {@code bin/local-cluster} from the load run's {@code summary.json}: requests sent, completed, failed,
 * duplicated and lost. A request is lost when it never got a terminal reply: still unanswered when the run ended, or
 * silent until the client gave up ({@code timeout}). Exit status 1 when any request was lost or failed.
 */
public final class ClusterReport {
    private ClusterReport() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ClusterReport SUMMARY_JSON");
            System.exit(2);
        }
        ObjectNode r = report(new ObjectMapper().readTree(Path.of(args[0]).toFile()));
        System.out.println(r.toPrettyString());
        System.exit(r.get("lost").asInt() == 0 && r.get("failed").asInt() == 0 ? 0 : 1);
    }

    static ObjectNode report(JsonNode summary) {
        int failed = 0;
        for (JsonNode n : summary.path("requests_failed")) {
            failed += n.asInt();
        }
        int timeouts = summary.path("requests_failed").path("timeout").asInt();
        int lost = summary.path("requests_unfinished").asInt() + timeouts;
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("sent", summary.path("requests_sent").asInt());
        r.put("completed", summary.path("requests_completed").asInt());
        r.put("failed", failed - timeouts);
        r.set("failed_by_kind", summary.path("requests_failed"));
        r.put("duplicated", summary.path("requests_duplicated").asInt());
        r.put("duplicate_messages_dropped", summary.path("duplicate_messages_dropped").asInt());
        r.put("lost", lost);
        r.put("output_tokens_per_s", summary.path("output_tokens_per_s").asDouble());
        return r;
    }
}
