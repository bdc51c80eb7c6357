package io.qwenserve.engine.cli;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.model.Generator;
import io.qwenserve.engine.sample.SamplingParams;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/qwen chat}: an interactive streaming chat with history, like the seed's cli_demo.py. */
@Command(name = "chat", description = "Interactive streaming chat in process (:clear resets history, :exit quits).")
final class ChatCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;
    @Mixin SamplingArgs sampling;

    @Option(names = "--system", description = "System message (default: the model family's).")
    String system;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (LoadedModel m = modelArgs.load(); Generator g = new Generator(m.model(), m.tokenizer(), m.maxContext())) {
            SamplingParams params = sampling.params(m.defaults());
            List<String[]> history = new ArrayList<>();
            out.println("Chat with " + m.dir().getFileName() + " (" + m.config().architecture().hfClass()
                    + "). Type :clear to reset the history, :exit to quit.");
            while (true) {
                out.print("\nUser> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals(":exit")) {
                    break;
                }
                if (line.strip().equals(":clear")) {
                    history.clear();
                    out.println("(history cleared)");
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                int[] prompt = m.chatTemplate().encode(system, history, line);
                out.print("Qwen> ");
                Generator.Result r = g.generate(prompt, params, m.stopIds(), (token, text) -> out.print(text));
                out.println();
                history.add(new String[] {line, r.text()});
            }
        }
        return 0;
    }
}
