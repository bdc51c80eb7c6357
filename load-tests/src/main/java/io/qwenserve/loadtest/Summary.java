package io.qwenserve.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The figures of one run, as written to {@code summary.json}. */
public record Summary(String target, String mode, double seconds, int requestsSent, int requestsCompleted,
                      Map<String, Integer> requestsFailed, long outputTokens, Percentiles ttftMs, Percentiles itlMs,
                      Percentiles e2eMs, Percentiles serverTtftMs, Percentiles addedTtftMs) {

    public static Summary of(String target, LoadRun.Mode mode, int sent, List<RequestResult> results) {
        long first = results.stream().mapToLong(RequestResult::start).min().orElse(0);
        long last = results.stream().mapToLong(RequestResult::end).max().orElse(first);
        Map<String, Integer> failed = new TreeMap<>();
        long tokens = 0;
        int completed = 0;
        java.util.List<Double> itl = new java.util.ArrayList<>();
        for (RequestResult r : results) {
            if (r.ok()) {
                completed++;
                tokens += r.outputTokens();
                long[] t = r.tokenTimes();
                for (int i = 1; i < t.length; i++) {
                    if (t[i] > t[i - 1]) {
                        itl.add((t[i] - t[i - 1]) / 1e6);
                    }
                }
            } else {
                failed.merge(r.failure(), 1, Integer::sum);
            }
        }
        List<RequestResult> ok = results.stream().filter(RequestResult::ok).toList();
        return new Summary(target, mode.toString(), Math.max(1e-9, (last - first) / 1e9), sent, completed, failed, tokens,
                new Percentiles(ok.stream().mapToDouble(RequestResult::ttftMs).toArray()),
                new Percentiles(itl.stream().mapToDouble(Double::doubleValue).toArray()),
                new Percentiles(ok.stream().mapToDouble(RequestResult::e2eMs).toArray()),
                new Percentiles(ok.stream().mapToDouble(RequestResult::serverTtftMs).toArray()),
                new Percentiles(ok.stream().mapToDouble(RequestResult::addedTtftMs).toArray()));
    }

    public double outputTokensPerSecond() {
        return outputTokens / seconds;
    }

    public double requestsPerSecond() {
        return requestsCompleted / seconds;
    }

    public int failedTotal() {
        return requestsFailed.values().stream().mapToInt(Integer::intValue).sum();
    }

    public ObjectNode toJson() {
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("target", target);
        o.put("mode", mode);
        o.put("duration_s", round(seconds));
        o.put("requests_sent", requestsSent);
        o.put("requests_completed", requestsCompleted);
        // sent but neither completed nor failed when the run ended (still in flight after the grace period)
        o.put("requests_unfinished", Math.max(0, requestsSent - requestsCompleted - failedTotal()));
        ObjectNode f = o.putObject("requests_failed");
        requestsFailed.forEach(f::put);
        o.put("output_tokens", outputTokens);
        o.put("output_tokens_per_s", round(outputTokensPerSecond()));
        o.put("requests_per_s", round(requestsPerSecond()));
        o.set("ttft_ms", percentiles(om, ttftMs));
        o.set("itl_ms", percentiles(om, itlMs));
        o.set("e2e_ms", percentiles(om, e2eMs));
        if (serverTtftMs.count() > 0) {
            // what the transport added to TTFT: client TTFT minus the server's own, per request
            o.set("server_ttft_ms", percentiles(om, serverTtftMs));
            o.set("added_ttft_ms", percentiles(om, addedTtftMs));
        }
        return o;
    }

    private static ObjectNode percentiles(ObjectMapper om, Percentiles p) {
        ObjectNode o = om.createObjectNode();
        o.put("p50", round(p.p(50)));
        o.put("p90", round(p.p(90)));
        o.put("p99", round(p.p(99)));
        return o;
    }

    static double round(double v) {
        return Double.isNaN(v) ? v : Math.round(v * 1000) / 1000.0;
    }
}
