package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.cli.QwenCli;
import io.qwenserve.engine.config.Architecture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/qwen finetune} and {@code bin/qwen merge-lora} in process: options, output, and clear errors. */
class FinetuneCommandTest {
    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = QwenCli.commandLine().execute(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void finetunesWritesTheAdapterAndMergesIt() throws Exception {
        Path base = TestModels.tiny(Architecture.QWEN2);
        Path out = tmp.resolve("adapter");
        Run r = run("finetune", "--model", base.toString(), "--data", Chats.writeData(tmp).toString(), "--out", out.toString(),
                "--method", "lora", "--lora-r", "4", "--lora-alpha", "8", "--lora-dropout", "0", "--target-modules",
                "q_proj,v_proj", "--lr", "1e-2", "--epochs", "2", "--max-len", "48", "--batch-size", "2", "--grad-accum", "1",
                "--warmup-ratio", "0", "--seed", "3", "--dtype", "fp32", "--threads", "2");
        assertEquals(0, r.exit(), r.err());
        JsonNode summary = new ObjectMapper().readTree(r.out());
        assertEquals(4, summary.get("steps").asInt(), "2 epochs x 2 micro-batches of 2");
        assertEquals(2 * ((4 * 64 + 64 * 4) + (4 * 64 + 32 * 4)), summary.get("trained_values").asLong(),
                "q_proj [64, 64] and v_proj [32, 64] at r 4 in 2 layers");
        assertTrue(r.err().contains("epoch 2/2") && r.err().contains("tok/s") && r.err().contains("loss"), r.err());
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
        assertEquals("none", cfg.get("bias").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8, cfg.get("lora_alpha").asInt());
        assertEquals("[\"q_proj\",\"v_proj\"]", cfg.get("target_modules").toString());
        assertTrue(Files.isRegularFile(out.resolve("checkpoint-epoch-1").resolve("adapter_model.safetensors")));

        Run m = run("merge-lora", "--model", base.toString(), "--adapter", out.toString(), "--out", tmp.resolve("merged").toString());
        assertEquals(0, m.exit(), m.err());
        assertTrue(m.err().contains("merged 4 adapted linears"), m.err());

        // generate --lora: the adapter served per row gives the merged model's greedy ids
        String[] gen = {"generate", "--prompt-ids", "9707,11,1879,0,3555", "--temperature", "0", "--repetition-penalty", "1",
                "--max-new-tokens", "8", "--format", "ids", "--dtype", "fp32", "--kernel", "PLAIN"};
        Run withLora = run(concat(gen, "--model", base.toString(), "--lora", out.toString()));
        Run mergedRun = run(concat(gen, "--model", tmp.resolve("merged").toString()));
        Run plain = run(concat(gen, "--model", base.toString()));
        assertEquals(0, withLora.exit(), withLora.err());
        assertEquals(mergedRun.out(), withLora.out());
        assertEquals(8, withLora.out().trim().split("\\s+").length, withLora.out());
        assertEquals(0, plain.exit(), plain.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badDataAndMismatchedMethodsAreClearErrors() throws Exception {
        Path base = TestModels.tiny(Architecture.QWEN2);
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "[{\"id\": \"ok\", \"conversations\": [{\"from\": \"user\", \"value\": \"q\"}, "
                + "{\"from\": \"assistant\", \"value\": \"a\"}]}, {\"id\": \"broken_7\", \"conversations\": "
                + "[{\"from\": \"user\", \"value\": \"q\"}, {\"from\": \"assistant\"}]}]");
        Path out = tmp.resolve("out");
        Run r = run("finetune", "--method", "lora", "--model", base.toString(), "--data", bad.toString(), "--out", out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("\"broken_7\"") && r.err().contains("conversations[1].value") && r.err().contains("missing"),
                r.err());

        Path good = Chats.writeData(tmp);
        r = run("finetune", "--method", "qlora", "--model", base.toString(), "--data", good.toString(), "--out", out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("GPTQ") && r.err().contains("--method lora"), r.err());

        r = run("finetune", "--method", "full", "--model", ResumeAndQloraTest.gptq().toString(), "--data", good.toString(),
                "--out", out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("qlora"), r.err());

        r = run("finetune", "--method", "lora", "--model", base.toString(), "--data", good.toString(), "--out", out.toString(),
                "--target-modules", "q_proj,c_attn");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("'c_attn'") && r.err().contains("q_proj, k_proj"), r.err());

        r = run("finetune", "--method", "dpo", "--model", base.toString(), "--data", good.toString(), "--out", out.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("full, lora or qlora"), r.err());

        r = run("finetune", "--method", "lora", "--model", base.toString(), "--data", good.toString(), "--out", out.toString(),
                "--lora-dropout", "1.5");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("--lora-dropout"), r.err());
    }
}
