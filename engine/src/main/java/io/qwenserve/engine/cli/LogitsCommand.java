package io.qwenserve.engine.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.model.PromptLogits;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/qwen logits}: the raw logits of a prompt, for comparing with another implementation. */
@Command(name = "logits", description = "Write the logits of a prompt as JSON.")
final class LogitsCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;
    @Mixin LoraArgs lora;

    @Option(names = "--prompt-ids", required = true, description = "Prompt token ids, comma-separated.")
    String promptIds;

    @Option(names = "--out", required = true, description = "Output JSON file.")
    Path out;

    @Option(names = "--all-positions", description = "Also write all_logits: one row per prompt position.")
    boolean allPositions;

    @Override
    public Integer call() throws IOException {
        int[] ids = Ids.parse(promptIds);
        try (LoadedModel m = modelArgs.load(); PromptLogits g = new PromptLogits(m.model(), Math.min(m.maxContext(), ids.length + 1));
             io.qwenserve.engine.lora.LoraAdapters adapters = lora.adapters(m)) {
            float[][] rows = g.logits(ids, allPositions, lora.name() == null ? null : adapters.weights(lora.name(), java.util.Set.of()));
            try (JsonGenerator j = new JsonFactory().createGenerator(out.toFile(), JsonEncoding.UTF8)) {
                j.writeStartObject();
                j.writeArrayFieldStart("prompt_ids");
                for (int id : ids) {
                    j.writeNumber(id);
                }
                j.writeEndArray();
                j.writeFieldName("last_logits");
                writeRow(j, rows[rows.length - 1]);
                if (allPositions) {
                    j.writeArrayFieldStart("all_logits");
                    for (float[] row : rows) {
                        writeRow(j, row);
                    }
                    j.writeEndArray();
                }
                j.writeEndObject();
            }
        }
        return 0;
    }

    private static void writeRow(JsonGenerator j, float[] row) throws IOException {
        j.writeStartArray();
        for (float f : row) {
            j.writeNumber(f);
        }
        j.writeEndArray();
    }
}
