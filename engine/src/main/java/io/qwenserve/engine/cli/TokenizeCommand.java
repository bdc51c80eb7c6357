package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.tokenizer.AllowedSpecial;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/qwen tokenize}: one JSON string literal per input line, one JSON id array per output line. */
@Command(name = "tokenize", description = "Tokenize JSON string lines from stdin into JSON id arrays.")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder whose tokenizer to use (default: the bundled qwen.tiktoken).")
    Path model;

    @Option(names = "--allowed-special", defaultValue = "all", description = "all (default, as Qwen's tokenizer) or none.")
    String allowedSpecial;

    @Option(names = "--jsonl", required = true, description = "Read and write JSON lines.")
    boolean jsonl;

    @Override
    public Integer call() throws Exception {
        QwenTokenizer tok = model != null ? QwenTokenizer.load(model) : QwenTokenizer.defaultQwen();
        AllowedSpecial allowed = AllowedSpecial.parse(allowedSpecial);
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
            if (n == null || !n.isTextual()) {
                throw new IllegalArgumentException("line " + lineNo + ": expected a JSON string literal");
            }
            out.println(om.writeValueAsString(tok.encode(n.asText(), allowed)));
        }
        out.flush();
        return 0;
    }
}
