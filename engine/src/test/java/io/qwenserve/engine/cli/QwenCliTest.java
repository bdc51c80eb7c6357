package io.qwenserve.engine.cli;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The CLI commands in process, on freshly generated models of each architecture. */
class QwenCliTest {
    @TempDir
    static Path tmp;

    private static final ObjectMapper OM = new ObjectMapper();

    record Run(int exit, String out, String err) {}

    static synchronized Run run(String stdin, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            int exit = QwenCli.commandLine().execute(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    static Path model(Architecture arch) {
        Path dir = tmp.resolve("m-" + arch.modelType());
        if (!Files.exists(dir.resolve("config.json"))) {
            Run r = run("", "init-model", dir.toString(), "--arch", arch.modelType(), "--layers", "2", "--hidden", "64",
                    "--heads", "4", "--kv-heads", "2", "--intermediate", "96", "--seq-length", "256", "--shards", "2");
            assertEquals(0, r.exit(), r.err());
        }
        return dir;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void initModelWritesTheRealLayout(Architecture arch) throws Exception {
        Path dir = model(arch);
        ModelConfig cfg = ModelConfig.load(dir);
        assertEquals(arch, cfg.architecture());
        assertEquals(96, cfg.intermediateSize());
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(dir.resolve("qwen.tiktoken")));
        if (arch == Architecture.QWEN) {
            assertEquals(192, OM.readTree(dir.resolve("config.json").toFile()).get("intermediate_size").asInt(),
                    "Qwen v1 stores twice the MLP width");
        }
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void generateIdsJsonAndTextAgree(Architecture arch) throws Exception {
        String model = model(arch).toString();
        Run ids = run("", "generate", "--model", model, "--prompt-ids", "1,2,3", "--max-new-tokens", "6", "--temperature", "0",
                "--format", "ids", "--dtype", "fp32");
        assertEquals(0, ids.exit(), ids.err());
        int[] idList = Arrays.stream(ids.out().trim().split(" ")).mapToInt(Integer::parseInt).toArray();
        assertTrue(idList.length <= 6 && idList.length > 0);
        Run json = run("", "generate", "--model", model, "--prompt-ids", "1,2,3", "--max-new-tokens", "6", "--temperature", "0",
                "--format", "json", "--dtype", "fp32");
        JsonNode j = OM.readTree(json.out());
        assertEquals(ids.out().trim(), join(j.get("ids")));
        assertEquals(3, j.get("usage").get("prompt_tokens").asInt());
        Run text = run("", "generate", "--model", model, "--prompt", "Hello", "--max-new-tokens", "4", "--temperature", "0");
        assertEquals(0, text.exit(), text.err());
    }

    @Test
    void aDeviceListSplitsTheModelAndGivesTheSameIds() {
        String model = model(Architecture.QWEN2).toString();
        Run one = run("", "generate", "--model", model, "--prompt-ids", "1,2,3", "--max-new-tokens", "8", "--temperature", "0",
                "--format", "ids", "--dtype", "fp32");
        Run split = run("", "generate", "--model", model, "--prompt-ids", "1,2,3", "--max-new-tokens", "8", "--temperature", "0",
                "--format", "ids", "--dtype", "fp32", "--device", "cpu,cpu");
        assertEquals(0, split.exit(), split.err());
        assertEquals(one.out(), split.out());
        Run mixed = run("", "generate", "--model", model, "--prompt-ids", "1", "--device", "cpu,cuda:0");
        assertNotEquals(0, mixed.exit());
        assertTrue(mixed.err().contains("mixes the CPU and CUDA devices"), mixed.err());
        Run info = run("", "info", "--device", "cpu,cpu");
        assertEquals(0, info.exit(), info.err());
        assertEquals(2, info.out().split("cpu: ok", -1).length - 1, info.out());
    }

    @Test
    void logitsWritesAllPositions() throws Exception {
        Path out = tmp.resolve("logits.json");
        Run r = run("", "logits", "--model", model(Architecture.QWEN).toString(), "--prompt-ids", "5,6,7", "--out", out.toString(),
                "--all-positions", "--dtype", "fp32");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = OM.readTree(out.toFile());
        assertEquals("5 6 7", join(j.get("prompt_ids")));
        assertEquals(151936, j.get("last_logits").size());
        assertEquals(3, j.get("all_logits").size());
        assertEquals(j.get("last_logits"), j.get("all_logits").get(2));
    }

    @Test
    void benchPrintsTheDocumentedFields() throws Exception {
        Run single = run("", "bench", "--model", model(Architecture.QWEN2).toString(), "--prompt-len", "4", "--new-tokens", "6",
                "--dtype", "fp32", "--format", "json");
        assertEquals(0, single.exit(), single.err());
        JsonNode j = OM.readTree(single.out());
        for (String f : List.of("prefill_tokens_per_s", "decode_tokens_per_s", "decode_tokens_per_s_median_step",
                "matmul_bound_tokens_per_s", "efficiency", "efficiency_median_step", "bandwidth_fraction", "rss_growth_pct", "rss_growth_after_first_quarter_pct", "anon_rss_growth_pct", "native_rss_growth_pct", "baseline_linear_tokens_per_s",
                "speedup_vs_baseline", "threads", "step_ms_p50", "linear_ms_p50", "linear_ms_bound", "step_ms_outside_linears", "forward_ms_outside_linears")) {
            assertTrue(j.get(f).isNumber(), f + " in " + j);
        }
        assertEquals(4, j.get("rss_mb_by_quarter").size(), j.toString());
        Run conc = run("", "bench", "--model", model(Architecture.QWEN2).toString(), "--concurrency", "1,2",
                "--requests-per-client", "1", "--prompt-len", "4", "--new-tokens", "4", "--dtype", "fp32", "--format", "json");
        assertEquals(0, conc.exit(), conc.err());
        JsonNode results = OM.readTree(conc.out()).get("results");
        assertEquals(2, results.size());
        assertEquals(2, results.get(1).get("concurrency").asInt());
        assertEquals(8, results.get(1).get("output_tokens").asInt());
        for (String f : List.of("output_tokens_per_s", "ttft_ms_p50", "ttft_ms_p99", "itl_ms_p50", "itl_ms_p99", "kv_usage_max",
                "matmul_bound_tokens_per_s", "efficiency", "step_efficiency", "decode_tokens_per_s", "step_ms_p50", "linear_ms_p50",
                "step_ms_outside_linears", "forward_ms_outside_linears")) {
            assertTrue(results.get(1).get(f).isNumber(), f + " in " + results.get(1));
        }
        assertEquals(4, results.get(1).get("rss_mb_by_quarter").size(), results.get(1).toString());
        assertEquals(4, results.get(1).get("java_heap_committed_mb_by_quarter").size(), results.get(1).toString());
    }

    @Test
    void benchComparesPrefixCachingInOneRun() throws Exception {
        Run ttft = run("", "bench", "--model", model(Architecture.QWEN2).toString(), "--shared-prefix", "48", "--prompt-len", "4",
                "--rounds", "2", "--dtype", "fp32", "--format", "json");
        assertEquals(0, ttft.exit(), ttft.err());
        JsonNode t = OM.readTree(ttft.out());
        for (String f : List.of("ttft_ms_uncached_p50", "ttft_ms_cached_p50", "ttft_lower_by")) {
            assertTrue(t.get(f).isNumber(), f + " in " + t);
        }
        assertEquals(48, t.get("cached_prompt_tokens").get(1).asInt(), "the prefix's three full blocks were cached: " + t);
        Run conc = run("", "bench", "--model", model(Architecture.QWEN2).toString(), "--concurrency", "2", "--shared-prefix", "32",
                "--requests-per-client", "2", "--prompt-len", "4", "--new-tokens", "4", "--no-baseline", "--dtype", "fp32",
                "--rounds", "2", "--format", "json");
        assertEquals(0, conc.exit(), conc.err());
        JsonNode c = OM.readTree(conc.out());
        JsonNode rs = c.get("results");
        assertEquals(4, rs.size(), "one level, caching on and off, two rounds");
        assertTrue(rs.get(0).get("prefix_caching").asBoolean(), "round 0: on first");
        assertFalse(rs.get(2).get("prefix_caching").asBoolean(), "round 1: off first");
        for (JsonNode r : rs) {
            if (r.get("prefix_caching").asBoolean()) {
                assertTrue(r.get("prefix_cache_hits").asLong() > 0, r.toString());
            } else {
                assertEquals(0, r.get("prefix_cache_queries").asLong(), r.toString());
            }
        }
        JsonNode cmp = c.get("prefix_caching_comparison").get(0);
        assertEquals(2, cmp.get("rounds").asInt());
        for (String f : List.of("output_tokens_per_s_ratio", "ttft_ms_p50_lower_by", "ttft_ms_p99_lower_by", "itl_ms_p50_ratio")) {
            assertTrue(cmp.get(f).isNumber(), f + " in " + cmp);
        }
    }

    @Test
    void infoChecksTheCpu() {
        Run one = run("", "info", "--threads", "1");
        assertEquals(0, one.exit(), one.err());
        assertTrue(one.out().contains("threads: 1\n"), one.out());
        Run r = run("", "info");
        assertEquals(0, r.exit(), r.err());
        // every processor the process may run on unless --threads says otherwise
        assertTrue(r.out().contains("threads: " + Runtime.getRuntime().availableProcessors() + "\n"), r.out());
        assertTrue(r.out().contains("mkldnn: "), r.out());
        assertTrue(r.out().contains("cpu: ok"), r.out());
    }

    @Test
    void infoSaysWhatCudaLacks() {
        assumeFalse(io.qwenserve.engine.cuda.Cuda.cudaBuild(), "this test runs in the CPU build");
        Run r = run("", "info");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("cuda: false\ncuda_build: cpu\ncuda_missing: this is the CPU build of libtorch"), r.out());
        Run cuda = run("", "info", "--device", "cuda");
        assertEquals(1, cuda.exit(), cuda.out());
        assertTrue(cuda.err().contains("device 'cuda' requested but CUDA is not available: this is the CPU build"), cuda.err());
        assertFalse(cuda.out().contains("cpu: ok"), "only the device asked for is checked");
    }

    @Test
    void nativesAreUnpackedWhereJavaCppLooksForThem() {
        assumeFalse(io.qwenserve.engine.cuda.Cuda.cudaBuild(), "this test runs in the CPU build");
        Run r = run("", "natives");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("natives: cpu\ncache: "), r.out());
        Path torch = r.out().lines().filter(l -> l.startsWith("unpacked: ") && l.endsWith("/org/bytedeco/pytorch/linux-x86_64"))
                .map(l -> Path.of(l.substring("unpacked: ".length()))).findFirst().orElseThrow(() -> new AssertionError(r.out()));
        assertTrue(Files.isRegularFile(torch.resolve("libtorch_cpu.so")), torch.toString());
        assertEquals(3, r.out().lines().filter(l -> l.startsWith("unpacked: ")).count(), "javacpp, openblas, pytorch: " + r.out());
    }

    @Test
    void tokenizeAndDetokenizeJsonLines() {
        Run t = run("\"你好<|im_end|>\"\n\"a b\"\n", "tokenize", "--jsonl");
        assertEquals("[108386,151645]\n[64,293]\n", t.out());
        Run none = run("\"<|im_end|>\"\n", "tokenize", "--allowed-special", "none", "--jsonl");
        assertFalse(none.out().contains("151645"));
        Run d = run("[108386,151645]\n", "detokenize", "--jsonl");
        assertEquals("\"你好<|im_end|>\"\n", d.out());
    }

    @Test
    void batchFileRunsThroughTheSchedulerInInputOrder() throws Exception {
        Path reqs = tmp.resolve("reqs.jsonl");
        Files.writeString(reqs, """
                {"id": "a", "prompt": "Hello", "max_new_tokens": 5, "temperature": 0}
                {"id": "b", "prompt_ids": [1, 2, 3], "max_new_tokens": 3, "temperature": 0}
                {"id": "c", "prompt": "x", "top_p": 7}
                """);
        Run r = run("", "generate", "--model", model(Architecture.QWEN2).toString(), "--batch-file", reqs.toString(),
                "--concurrency", "2", "--format", "jsonl", "--dtype", "fp32");
        assertEquals(0, r.exit(), r.err());
        String[] lines = r.out().trim().split("\n");
        assertEquals(3, lines.length);
        JsonNode a = OM.readTree(lines[0]);
        JsonNode b = OM.readTree(lines[1]);
        assertEquals("a", a.get("id").asText());
        assertEquals("b", b.get("id").asText());
        assertEquals(3, b.get("usage").get("prompt_tokens").asInt());
        assertTrue(b.get("ids").size() <= 3);
        Run single = run("", "generate", "--model", model(Architecture.QWEN2).toString(), "--prompt-ids", "1,2,3",
                "--max-new-tokens", "3", "--temperature", "0", "--format", "ids", "--dtype", "fp32");
        assertEquals(single.out().trim(), join(b.get("ids")), "batched output equals the single-request output");
        assertTrue(OM.readTree(lines[2]).get("error").asText().contains("top_p"));
    }

    @Test
    void chatStreamsAndKeepsHistory() {
        Run r = run("hello\n:clear\n你好\n:exit\n", "chat", "--model", model(Architecture.QWEN).toString(), "--max-new-tokens", "4");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("(history cleared)"));
        assertEquals(4, r.out().split("User> ", -1).length - 1, r.out()); // one prompt per input line
    }

    @Test
    void errorsAreOneClearLine() {
        Run r = run("", "generate", "--model", tmp.resolve("missing").toString(), "--prompt", "x");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("error: "), "[" + r.err() + "]");
        assertTrue(r.err().contains("config.json"), r.err());
    }

    private static String join(JsonNode arr) {
        StringBuilder sb = new StringBuilder();
        arr.forEach(n -> sb.append(sb.length() == 0 ? "" : " ").append(n.asInt()));
        return sb.toString();
    }

    @Test
    void initModelGptqThenAccuracyAndLoadOnly() throws Exception {
        Path dir = tmp.resolve("gptq-qwen");
        Run init = run("", "init-model", dir.toString(), "--arch", "qwen", "--layers", "1", "--hidden", "64", "--heads", "4",
                "--intermediate", "128", "--dtype", "fp16", "--gptq", "--group-size", "32");
        assertEquals(0, init.exit(), init.err());
        JsonNode q = OM.readTree(dir.resolve("quantize_config.json").toFile());
        assertEquals(4, q.path("bits").asInt());
        assertEquals(32, q.path("group_size").asInt());
        assertFalse(q.path("desc_act").asBoolean());
        assertEquals("gptq", OM.readTree(dir.resolve("config.json").toFile()).path("quantization_config").path("quant_method").asText());

        Run acc = run("", "accuracy", "--model", dir.toString(), "--prompts", "1", "--prompt-len", "8", "--greedy-tokens", "4");
        assertEquals(0, acc.exit(), acc.err());
        JsonNode a = OM.readTree(acc.out());
        assertEquals(8, a.path("positions").asInt());
        assertTrue(a.path("top1_agreement").asDouble() >= 0.5, acc.out());

        Run mem = run("", "bench", "--model", dir.toString(), "--load-only");
        assertEquals(0, mem.exit(), mem.err());
        JsonNode m = OM.readTree(mem.out());
        assertEquals("gptq-int4", m.path("quantize").asText());
        assertEquals("INT4_PACKED", m.path("kernel_policy").asText());
        assertTrue(m.path("resident_weight_mb").asLong() >= 0);

        Run bad = run("", "bench", "--model", dir.toString(), "--load-only", "--quantize", "int8");
        assertNotEquals(0, bad.exit(), "int8 on a GPTQ checkpoint must be refused");
    }
}
