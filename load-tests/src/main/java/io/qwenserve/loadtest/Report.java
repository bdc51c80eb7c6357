package io.qwenserve.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code report.html}: a self-contained page (inline SVG, no scripts, no network) with latency CDFs, throughput over
 * time and throughput against concurrency.
 */
public final class Report {
    /** One point of a throughput-against-concurrency curve (a sweep level, or one second of a run). */
    public record Point(double concurrency, double tokensPerSecond, String label) {}

    private Report() {}

    public static String html(Summary s, List<RequestResult> results, List<Point> levels) {
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>qwen load report</title><style>")
                .append("body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}")
                .append(".charts{display:flex;flex-wrap:wrap;gap:16px}</style></head><body>");
        h.append("<h1>Load report: ").append(esc(s.target())).append(", ").append(esc(s.mode())).append("</h1>");
        h.append("<table><tr><th>requests completed</th><th>failed</th><th>output tokens/s</th><th>requests/s</th>")
                .append("<th>duration s</th></tr><tr>")
                .append(td(s.requestsCompleted())).append(td(s.failedTotal() + " " + s.requestsFailed()))
                .append(td(fmt(s.outputTokensPerSecond()))).append(td(fmt(s.requestsPerSecond()))).append(td(fmt(s.seconds())))
                .append("</tr></table>");
        h.append("<h2>Latency (ms)</h2><table><tr><th></th><th>p50</th><th>p90</th><th>p99</th></tr>");
        row(h, "time to first token", s.ttftMs());
        row(h, "inter-token latency", s.itlMs());
        row(h, "end to end", s.e2eMs());
        h.append("</table><div class=\"charts\">");
        h.append(cdf("TTFT CDF", "ms", s.ttftMs()));
        h.append(cdf("Inter-token latency CDF", "ms", s.itlMs()));
        h.append(cdf("End-to-end latency CDF", "ms", s.e2eMs()));
        h.append(Svg.chart("Output tokens/s over time", "seconds", "tokens/s", List.of(throughputOverTime(results)), true));
        List<double[]> curve = new ArrayList<>();
        for (Point p : levels) {
            curve.add(new double[] {p.concurrency(), p.tokensPerSecond()});
        }
        h.append(Svg.chart("Throughput against concurrency", "requests in flight", "tokens/s", List.of(curve), false));
        h.append("</div></body></html>\n");
        return h.toString();
    }

    /** Tokens per one-second bucket of the run. */
    static List<double[]> throughputOverTime(List<RequestResult> results) {
        long last = results.stream().mapToLong(RequestResult::end).max().orElse(0);
        int buckets = (int) (last / 1_000_000_000L) + 1;
        double[] count = new double[buckets];
        for (RequestResult r : results) {
            for (long t : r.tokenTimes()) {
                count[(int) Math.min(buckets - 1, t / 1_000_000_000L)]++;
            }
        }
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < buckets; i++) {
            pts.add(new double[] {i + 0.5, count[i]});
        }
        return pts;
    }

    /** For a single run: per second, the mean number of requests in flight and the tokens that arrived. */
    public static List<Point> perSecond(List<RequestResult> results) {
        List<double[]> tokens = throughputOverTime(results);
        List<Point> out = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            long a = i * 1_000_000_000L;
            long b = a + 1_000_000_000L;
            double inFlight = 0;
            for (RequestResult r : results) {
                long overlap = Math.min(b, r.end()) - Math.max(a, r.start());
                if (overlap > 0) {
                    inFlight += overlap / 1e9;
                }
            }
            out.add(new Point(inFlight, tokens.get(i)[1], "t=" + i));
        }
        return out;
    }

    private static String cdf(String title, String unit, Percentiles p) {
        double[] v = p.sorted();
        List<double[]> pts = new ArrayList<>();
        int step = Math.max(1, v.length / 400);
        for (int i = 0; i < v.length; i += step) {
            pts.add(new double[] {v[i], (i + 1.0) / v.length});
        }
        if (v.length > 0) {
            pts.add(new double[] {v[v.length - 1], 1.0});
        }
        return Svg.chart(title, unit, "fraction of requests", List.of(pts), true);
    }

    private static void row(StringBuilder h, String name, Percentiles p) {
        h.append("<tr><th>").append(name).append("</th>").append(td(fmt(p.p(50)))).append(td(fmt(p.p(90))))
                .append(td(fmt(p.p(99)))).append("</tr>");
    }

    private static String td(Object o) {
        return "<td>" + esc(String.valueOf(o)) + "</td>";
    }

    static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
