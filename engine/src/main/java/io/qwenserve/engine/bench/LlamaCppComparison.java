package io.qwenserve.engine.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Reads the rounds {@code bin/bench-llamacpp} wrote (llama-bench JSON, llama-batched-bench JSON lines, bin/qwen bench
 * JSON) and prints every row as this project's figure over llama.cpp's, per round and as the median over rounds.
 *
 * <p>{@code java -cp qwen-engine.jar io.qwenserve.engine.bench.LlamaCppComparison WORK ROUNDS THREADS PROMPT GEN CONCURRENCY}
 */
public final class LlamaCppComparison {
    private static final ObjectMapper OM = new ObjectMapper();

    private LlamaCppComparison() {}

    /** A row: how to read each side's tokens/s from a round folder, and the ratio it should reach. */
    private record Row(String name, double target, String llamaSource, Function<Path, Double> llama, String projectSource,
                       Function<Path, Double> project) {}

    public static void main(String[] args) throws IOException {
        Path work = Path.of(args[0]);
        int rounds = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        int prompt = Integer.parseInt(args[3]);
        int gen = Integer.parseInt(args[4]);
        int concurrency = Integer.parseInt(args[5]);
        List<Row> rows = List.of(
                new Row("bf16 single-stream decode, tok/s", 1.0, "llama-bench BF16 tg" + gen,
                        d -> llamaBench(d, "BF16", 0, gen), "bin/qwen bench decode_tokens_per_s", d -> qwen(d, "qwen-bf16", "decode_tokens_per_s")),
                new Row("int8 single-stream decode, tok/s (llama.cpp Q8_0)", 1.0, "llama-bench Q8_0 tg" + gen,
                        d -> llamaBench(d, "Q8_0", 0, gen), "bin/qwen bench --quantize int8 decode_tokens_per_s",
                        d -> qwen(d, "qwen-int8", "decode_tokens_per_s")),
                new Row("GPTQ Int4 (group 128) single-stream decode, tok/s (llama.cpp Q4_0)", 1.0, "llama-bench Q4_0 tg" + gen,
                        d -> llamaBench(d, "Q4_0", 0, gen), "bin/qwen bench (GPTQ checkpoint) decode_tokens_per_s",
                        d -> qwen(d, "qwen-int4", "decode_tokens_per_s")),
                new Row("bf16 aggregate decode at " + concurrency + " concurrent, tok/s", 1.5,
                        "llama-batched-bench BF16 S_TG at " + concurrency, d -> llamaBatched(d, concurrency),
                        "bin/qwen bench --concurrency " + concurrency + " decode_tokens_per_s", d -> qwenConcurrent(d, "decode_tokens_per_s")),
                new Row("bf16 prefill, " + prompt + "-token prompt, tok/s", 1.0, "llama-bench BF16 pp" + prompt,
                        d -> llamaBench(d, "BF16", prompt, 0), "bin/qwen bench prefill_tokens_per_s", d -> qwen(d, "qwen-bf16", "prefill_tokens_per_s")));

        ObjectNode root = OM.createObjectNode();
        root.put("threads", threads);
        root.put("rounds", rounds);
        root.put("prompt_tokens", prompt);
        root.put("generated_tokens", gen);
        root.put("concurrency", concurrency);
        root.put("llama_cpp_commit", readOr(work.resolve("llama-commit"), "unknown"));
        ArrayNode load = root.putArray("load_average_before_after_by_round");
        ArrayNode outside = root.putArray("step_ms_outside_linears_by_round");
        for (int r = 1; r <= rounds; r++) {
            Path d = work.resolve("round-" + r);
            load.add(readOr(d.resolve("load-before"), "?") + " -> " + readOr(d.resolve("load-after"), "?"));
            ObjectNode o = outside.addObject();
            put(o, "bf16_c1", qwen(d, "qwen-bf16", "step_ms_outside_linears"));
            put(o, "bf16_c" + concurrency, qwenConcurrent(d, "step_ms_outside_linears"));
            put(o, "int8_c1", qwen(d, "qwen-int8", "step_ms_outside_linears"));
            put(o, "int4_c1", qwen(d, "qwen-int4", "step_ms_outside_linears"));
        }
        ArrayNode out = root.putArray("rows");
        for (Row row : rows) {
            ObjectNode o = out.addObject();
            o.put("row", row.name());
            o.put("llama_cpp", row.llamaSource());
            o.put("project", row.projectSource());
            ArrayNode l = o.putArray("llama_cpp_tokens_per_s");
            ArrayNode p = o.putArray("project_tokens_per_s");
            ArrayNode ratio = o.putArray("ratio_by_round");
            List<Double> ratios = new ArrayList<>();
            for (int r = 1; r <= rounds; r++) {
                Path d = work.resolve("round-" + r);
                double lv = row.llama().apply(d);
                double pv = row.project().apply(d);
                add(l, lv);
                add(p, pv);
                double x = pv / lv;
                add(ratio, x);
                if (!Double.isNaN(x)) {
                    ratios.add(x);
                }
            }
            double median = ratios.isEmpty() ? Double.NaN : StepRecorder.median(ratios.stream().mapToDouble(Double::doubleValue).toArray());
            put(o, "ratio", median);
            o.put("target", row.target());
            o.put("met", !Double.isNaN(median) && median >= row.target());
        }
        System.out.println(root.toPrettyString());
    }

    /** llama-bench's mean tokens/s of the test with {@code prompt} prompt tokens and {@code gen} generated tokens. */
    static double llamaBench(Path round, String quant, int prompt, int gen) {
        JsonNode tests = read(round.resolve("llama-bench-" + quant + ".json"));
        if (tests != null) {
            for (JsonNode t : tests) {
                if (t.path("n_prompt").asInt() == prompt && t.path("n_gen").asInt() == gen) {
                    return t.path("avg_ts").asDouble(Double.NaN);
                }
            }
        }
        return Double.NaN;
    }

    /** llama-batched-bench's aggregate generation speed (S_TG) with {@code parallel} sequences. */
    static double llamaBatched(Path round, int parallel) {
        try {
            for (String line : Files.readAllLines(round.resolve("llama-batched.jsonl"))) {
                JsonNode n = OM.readTree(line);
                if (n.path("pl").asInt() == parallel) {
                    return n.path("speed_tg").asDouble(Double.NaN);
                }
            }
        } catch (IOException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    static double qwen(Path round, String name, String field) {
        JsonNode n = read(round.resolve(name + ".json"));
        return n == null ? Double.NaN : n.path(field).asDouble(Double.NaN);
    }

    static double qwenConcurrent(Path round, String field) {
        JsonNode n = read(round.resolve("qwen-concurrent.json"));
        return n == null ? Double.NaN : n.path("results").path(0).path(field).asDouble(Double.NaN);
    }

    private static JsonNode read(Path p) {
        try {
            return Files.exists(p) && Files.size(p) > 0 ? OM.readTree(p.toFile()) : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String readOr(Path p, String fallback) {
        try {
            return Files.readString(p).trim();
        } catch (IOException e) {
            return fallback;
        }
    }

    /** A rounded number, or null where a figure is missing (a run failed: see its log in the round folder). */
    private static void put(ObjectNode o, String name, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            o.putNull(name);
        } else {
            o.put(name, Math.round(v * 1000) / 1000.0);
        }
    }

    private static void add(ArrayNode a, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            a.addNull();
        } else {
            a.add(Math.round(v * 1000) / 1000.0);
        }
    }
}
