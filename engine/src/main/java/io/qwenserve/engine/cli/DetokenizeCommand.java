package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/qwen detokenize}: one JSON id array per input line, one JSON string literal per output line. */
@Command(name = "detokenize", description = "Decode JSON id arrays from stdin into JSON string literals.")
final class DetokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder whose tokenizer to use (default: the bundled qwen.tiktoken).")
    Path model;

    @Option(names = "--jsonl", required = true, description = "Read and write JSON lines.")
    boolean jsonl;

    @Override
    public Integer call() throws Exception {
        QwenTokenizer tok = model != null ? QwenTokenizer.load(model) : QwenTokenizer.defaultQwen();
        ObjectMapper om = new ObjectMapper();
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int lineNo = 0;
        for (String line; (line = in.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = om.readTree(line);
            if (n == null || !n.isArray()) {
                throw new IllegalArgumentException("line " + lineNo + ": expected a JSON array of ids");
            }
            int[] ids = new int[n.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = n.get(i).asInt();
            }
            out.println(om.writeValueAsString(tok.decode(ids)));
        }
        out.flush();
        return 0;
    }
}
