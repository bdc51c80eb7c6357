package io.qwenserve.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads what {@code bin/bench-transports} wrote into one folder and compares each transport with the in-process engine
 * of the same round: {@code inproc-R.json} (from {@code bin/qwen bench --concurrency C}) against
 * {@code TARGET-R/summary.json} (from {@code bin/qwen load}). Rounds alternate engine and transports, so a ratio
 * within a round is measured under the same conditions; the mean and the per-round ratios are printed.
 */
public final class TransportComparison {
    private TransportComparison() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: TransportComparison DIR");
            System.exit(2);
        }
        ObjectNode out = compare(Path.of(args[0]));
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        om.writeValue(Path.of(args[0]).resolve("comparison.json").toFile(), out);
        System.out.println(out.toPrettyString());
    }

    static ObjectNode compare(Path dir) throws IOException {
        ObjectMapper om = new ObjectMapper();
        Map<String, JsonNode> inproc = new TreeMap<>();
        Map<String, Map<String, JsonNode>> byTarget = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                String name = p.getFileName().toString();
                if (name.startsWith("inproc-") && name.endsWith(".json")) {
                    inproc.put(name.substring(7, name.length() - 5), om.readTree(p.toFile()).path("results").path(0));
                } else if (Files.isRegularFile(p.resolve("summary.json")) && name.contains("-")) {
                    String target = name.substring(0, name.lastIndexOf('-'));
                    String round = name.substring(name.lastIndexOf('-') + 1);
                    byTarget.computeIfAbsent(target, k -> new TreeMap<>()).put(round, om.readTree(p.resolve("summary.json").toFile()));
                }
            }
        }
        if (inproc.isEmpty()) {
            throw new IllegalArgumentException(dir + ": no inproc-R.json");
        }
        ObjectNode root = om.createObjectNode();
        ObjectNode ip = root.putObject("inproc");
        ip.put("output_tokens_per_s", Summary.round(mean(inproc.values().stream().map(j -> j.path("output_tokens_per_s").asDouble()).toList())));
        ip.put("ttft_ms_p50", Summary.round(median(inproc.values().stream().map(j -> j.path("ttft_ms_p50").asDouble()).toList())));
        ip.put("ttft_ms_p99", Summary.round(median(inproc.values().stream().map(j -> j.path("ttft_ms_p99").asDouble()).toList())));
        ip.put("rounds", inproc.size());
        ObjectNode targets = root.putObject("targets");
        byTarget.forEach((target, rounds) -> {
            ObjectNode t = targets.putObject(target);
            List<Double> ratios = new ArrayList<>();
            List<Double> tps = new ArrayList<>();
            List<Double> ttft = new ArrayList<>();
            List<Double> added = new ArrayList<>();
            List<Double> ttft99 = new ArrayList<>();
            List<Double> added99 = new ArrayList<>();
            int failed = 0;
            for (Map.Entry<String, JsonNode> e : rounds.entrySet()) {
                JsonNode s = e.getValue();
                double v = s.path("output_tokens_per_s").asDouble();
                tps.add(v);
                ttft.add(s.path("ttft_ms").path("p50").asDouble());
                ttft99.add(s.path("ttft_ms").path("p99").asDouble());
                if (s.has("added_ttft_ms")) {
                    added.add(s.path("added_ttft_ms").path("p50").asDouble());
                    added99.add(s.path("added_ttft_ms").path("p99").asDouble());
                }
                for (JsonNode f : s.path("requests_failed")) {
                    failed += f.asInt();
                }
                JsonNode base = inproc.get(e.getKey());
                if (base != null && base.path("output_tokens_per_s").asDouble() > 0) {
                    ratios.add(v / base.path("output_tokens_per_s").asDouble());
                }
            }
            t.put("output_tokens_per_s", Summary.round(mean(tps)));
            t.put("ratio_to_inproc", Summary.round(mean(ratios)));
            ArrayNode per = t.putArray("ratio_to_inproc_per_round");
            ratios.forEach(r -> per.add(Summary.round(r)));
            t.put("ttft_ms_p50", Summary.round(median(ttft)));
            t.put("ttft_ms_p99", Summary.round(median(ttft99)));
            if (!added.isEmpty()) {
                t.put("added_ttft_ms_p50", Summary.round(median(added)));
                t.put("added_ttft_ms_p99", Summary.round(median(added99)));
            }
            t.put("requests_failed", failed);
        });
        return root;
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    private static double median(List<Double> v) {
        return new Percentiles(v.stream().mapToDouble(Double::doubleValue).toArray()).p(50);
    }
}
