package io.qwenserve.engine.cli;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
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

/** {@code bin/qwen chat}: an interactive streaming chat with history, like the seed's cli_demo.py, through the engine. */
@Command(name = "chat", description = "Interactive streaming chat in process (:clear resets history, :exit quits).")
final class ChatCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;
    @Mixin LoraArgs lora;
    @Mixin SamplingArgs sampling;

    @Option(names = "--system", description = "System message (default: the model family's).")
    String system;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (LoadedModel m = modelArgs.load();
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1), EngineListener.NONE, lora.adapters(m))) {
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
                Completion r = Completion.read(engine.submit(GenerationRequest.of("chat-" + history.size(), new Prompt.Ids(prompt),
                        sampling.options()).withAdapter(lora.name())), c -> out.print(c.text()));
                out.println();
                if (r.finishReason() == FinishReason.ERROR) {
                    out.println("(error: " + r.end().message() + ")");
                    continue;
                }
                history.add(new String[] {line, r.text()});
            }
        }
        return 0;
    }
}
