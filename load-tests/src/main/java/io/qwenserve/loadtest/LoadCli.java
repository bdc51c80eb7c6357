package io.qwenserve.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen load}: load a running service over gRPC, Kafka or HTTP and write {@code summary.json} and
 * {@code report.html}. {@code --sweep} raises the arrival rate until the TTFT SLO breaks.
 */
@Command(name = "qwen load", mixinStandardHelpOptions = true, description = "Load-test a running qwen service.")
public final class LoadCli implements Callable<Integer> {
    @Option(names = "--target", required = true, description = "grpc, kafka or http.")
    String target;

    @Option(names = "--url", defaultValue = "localhost:8080", description = "gRPC/HTTP address (loopback by default).")
    String url;

    @Option(names = "--bootstrap", defaultValue = "localhost:9092", description = "Kafka bootstrap servers.")
    String bootstrap;

    @Option(names = "--concurrency", description = "Closed loop: this many clients, each sending back to back.")
    Integer concurrency;

    @Option(names = "--rate", description = "Open loop: Poisson arrivals at this many requests/s (the start rate with --sweep).")
    Double rate;

    @Option(names = "--duration", required = true, description = "Seconds per run (per level with --sweep).")
    double duration;

    @Option(names = "--dataset", description = "JSONL of {\"prompt\", \"max_tokens\"}; default: a synthetic mix of short and long chats.")
    Path dataset;

    @Option(names = "--prompt-tokens", description = "Instead of a dataset: raw completions of this many random prompt ids "
            + "(the same workload on every transport and in bin/qwen bench).")
    Integer promptTokens;

    @Option(names = "--max-tokens", defaultValue = "128", description = "max_tokens with --prompt-tokens.")
    int maxTokens;

    @Option(names = "--shared-prefix-tokens", defaultValue = "0", description = "With --prompt-tokens: every prompt starts "
            + "with the same this many random ids (a shared system prompt, for prefix caching).")
    int sharedPrefixTokens;

    @Option(names = "--out", required = true, description = "Output folder for summary.json and report.html.")
    Path out;

    @Option(names = "--max-requests", defaultValue = "100000", description = "Stop after this many requests.")
    int maxRequests;

    @Option(names = "--max-in-flight", defaultValue = "512", description = "Open loop: arrivals beyond this many outstanding requests are dropped (counted as failed).")
    int maxInFlight;

    @Option(names = "--sweep", description = "Raise the rate (x1.5 per level) until p99 TTFT exceeds --slo-ttft-ms or over 1% fail.")
    boolean sweep;

    @Option(names = "--slo-ttft-ms", defaultValue = "2000") double sloTtftMs;

    @Option(names = "--api-key") String apiKey;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new LoadCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            return 1;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (sweep ? concurrency != null : (concurrency == null) == (rate == null)) {
            throw new IllegalArgumentException(sweep ? "--sweep uses --rate (start rate), not --concurrency"
                    : "give exactly one of --concurrency and --rate");
        }
        if (sharedPrefixTokens > 0 && promptTokens == null) {
            throw new IllegalArgumentException("--shared-prefix-tokens needs --prompt-tokens (prompts of random ids)");
        }
        Dataset data = promptTokens != null ? Dataset.randomIds(sharedPrefixTokens, promptTokens, maxTokens, 7)
                : dataset != null ? Dataset.load(dataset) : Dataset.synthetic(7);
        Files.createDirectories(out);
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        PrintStream stdout = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadTarget t = Targets.open(target, url, bootstrap, apiKey)) {
            if (!sweep) {
                LoadRun.Mode mode = concurrency != null ? LoadRun.Mode.closed(concurrency) : LoadRun.Mode.open(rate);
                Level level = runLevel(t, data, mode, "r");
                om.writeValue(out.resolve("summary.json").toFile(), level.json());
                Files.writeString(out.resolve("report.html"), Report.html(level.summary, level.results, Report.perSecond(level.results)));
                stdout.println(level.json().toPrettyString());
                return 0;
            }
            double r = rate != null ? rate : 0.5;
            List<Level> levels = new ArrayList<>();
            ArrayNode sweepJson = om.createArrayNode();
            Double best = null;
            for (int i = 0; i < 12; i++, r *= 1.5) {
                Level level = runLevel(t, data, LoadRun.Mode.open(r), "s" + i + "-");
                levels.add(level);
                double p99 = level.summary.ttftMs().p(99);
                boolean ok = p99 <= sloTtftMs && level.summary.failedTotal() <= 0.01 * Math.max(1, level.summary.requestsSent());
                ObjectNode j = level.json();
                j.put("rate", r);
                j.put("slo_met", ok);
                sweepJson.add(j);
                System.err.printf(Locale.ROOT, "rate %.2f req/s: p99 TTFT %.0f ms, %.1f tokens/s -> %s%n", r, p99,
                        level.summary.outputTokensPerSecond(), ok ? "SLO met" : "SLO broken");
                if (!ok) {
                    break;
                }
                best = r;
            }
            ObjectNode result = om.createObjectNode();
            result.put("slo_ttft_ms_p99", sloTtftMs);
            if (best != null) {
                result.put("max_sustainable_rate", best);
            } else {
                result.putNull("max_sustainable_rate");
            }
            result.set("levels", sweepJson);
            om.writeValue(out.resolve("sweep.json").toFile(), result);
            Level last = levels.get(levels.size() - 1);
            om.writeValue(out.resolve("summary.json").toFile(), last.json());
            List<Report.Point> points = new ArrayList<>();
            for (Level l : levels) {
                points.add(new Report.Point(meanInFlight(l.results, l.summary.seconds()), l.summary.outputTokensPerSecond(), l.summary.mode()));
            }
            Files.writeString(out.resolve("report.html"), Report.html(last.summary, last.results, points));
            stdout.println(best != null ? String.format(Locale.ROOT, "highest sustainable rate: %.2f req/s (p99 TTFT <= %.0f ms)", best, sloTtftMs)
                    : "no rate met the SLO");
            return 0;
        }
    }

    /** @param extra the target's own figures when the level ended (cumulative over a sweep) */
    private record Level(Summary summary, List<RequestResult> results, java.util.Map<String, Number> extra) {
        ObjectNode json() {
            ObjectNode j = summary.toJson();
            extra.forEach((k, v) -> j.put(k, v.doubleValue() == Math.rint(v.doubleValue()) ? v.longValue() : v.doubleValue()));
            return j;
        }
    }

    private Level runLevel(LoadTarget t, Dataset data, LoadRun.Mode mode, String prefix) throws InterruptedException {
        LoadRun run = new LoadRun(t, data, mode, duration, maxRequests, maxInFlight, "load-" + System.currentTimeMillis() + "-" + prefix);
        ProgressBar bar = new ProgressBar(mode.toString(), duration);
        List<RequestResult> results = run.run(bar::update);
        bar.finish();
        return new Level(Summary.of(t.name(), mode, run.progress.sent.get(), results), results, t.extraFigures());
    }

    private static double meanInFlight(List<RequestResult> results, double seconds) {
        double busy = 0;
        for (RequestResult r : results) {
            busy += (r.end() - r.start()) / 1e9;
        }
        return busy / Math.max(1e-9, seconds);
    }
}
