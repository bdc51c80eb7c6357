package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.Completion;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/qwen generate}: raw completion, like the seed's {@code model.generate}, through the engine the service runs. */
@Command(name = "generate", description = "Complete a prompt (raw text or ids) in process.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;
    @Mixin LoraArgs lora;
    @Mixin SamplingArgs sampling;

    static final class Prompt {
        @Option(names = "--prompt", description = "Prompt text (special-token surface forms are parsed).")
        String text;

        @Option(names = "--prompt-ids", description = "Prompt token ids, comma-separated.")
        String ids;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Prompt prompt;

    @Option(names = "--batch-file", description = "JSON lines of requests ({\"id\", \"prompt\" or \"prompt_ids\", optional "
            + "max_new_tokens, temperature, top_p, top_k, seed, stop}) sent through the batching scheduler; one JSON line "
            + "per request is printed, in input order (requires --format jsonl).")
    Path batchFile;

    @Option(names = "--concurrency", defaultValue = "8", description = "Requests in flight at once with --batch-file.")
    int concurrency;

    @Option(names = "--format", defaultValue = "text", description = "text (streamed), ids (generated ids on one line), "
            + "json, or jsonl (with --batch-file).")
    String format;

    @Override
    public Integer call() throws Exception {
        if (batchFile != null) {
            if (prompt != null) {
                throw new IllegalArgumentException("--batch-file excludes --prompt and --prompt-ids");
            }
            if (!format.equals("jsonl")) {
                throw new IllegalArgumentException("--batch-file needs --format jsonl");
            }
            return new BatchGenerate(modelArgs, lora, sampling, batchFile, concurrency).run();
        }
        if (prompt == null) {
            throw new IllegalArgumentException("give --prompt, --prompt-ids or --batch-file");
        }
        if (!format.equals("text") && !format.equals("ids") && !format.equals("json")) {
            throw new IllegalArgumentException("--format must be text, ids or json");
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadedModel m = modelArgs.load();
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(1), EngineListener.NONE, lora.adapters(m))) {
            io.qwenserve.engine.api.Prompt p = prompt.ids != null ? new io.qwenserve.engine.api.Prompt.Ids(Ids.parse(prompt.ids))
                    : new io.qwenserve.engine.api.Prompt.Text(prompt.text);
            int[] promptIds = engine.tokenize(p);
            Completion r = Completion.read(engine.submit(GenerationRequest.of("generate", p, sampling.options())
                    .withAdapter(lora.name())), c -> {
                if (format.equals("text")) {
                    out.print(c.text());
                    out.flush();
                }
            });
            if (r.finishReason() == FinishReason.ERROR) {
                throw new IllegalStateException(r.end().message());
            }
            switch (format) {
                case "text" -> out.println();
                case "ids" -> out.println(Ids.spaced(r.ids()));
                default -> {
                    ObjectMapper om = new ObjectMapper();
                    ObjectNode o = om.createObjectNode();
                    var pa = o.putArray("prompt_ids");
                    for (int id : promptIds) {
                        pa.add(id);
                    }
                    var ia = o.putArray("ids");
                    for (int id : r.ids()) {
                        ia.add(id);
                    }
                    o.put("text", r.text());
                    o.put("finish_reason", r.finishReason().wireName());
                    o.putObject("usage").put("prompt_tokens", r.end().usage().promptTokens())
                            .put("completion_tokens", r.end().usage().completionTokens());
                    out.println(o);
                }
            }
        }
        return 0;
    }
}
