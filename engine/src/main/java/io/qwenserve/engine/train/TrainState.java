package io.qwenserve.engine.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code trainer_state.json} of an epoch checkpoint: where the run stands (epoch, optimizer steps), the settings that
 * must not change on resume (method, hyperparameters, the data file's SHA-256), the fp16 loss scaler, and the log of
 * every step so far.
 */
public record TrainState(int epoch, int globalStep, int totalSteps, String settings, String dataSha256, double lossScale,
                         int goodSteps, List<Trainer.StepLog> log) {
    public static final String FILE = "trainer_state.json";

    public TrainState {
        log = List.copyOf(log);
    }

    /** The settings a resumed run must share, as one comparable string. */
    public static String settings(FinetuneOptions o, List<String> targets) {
        return "method=" + o.method().cliName() + " lora-r=" + o.loraR() + " lora-alpha=" + o.loraAlpha() + " lora-dropout="
                + o.loraDropout() + " target-modules=" + String.join(",", targets) + " lr=" + o.lr() + " epochs=" + o.epochs()
                + " max-len=" + o.maxLen() + " batch-size=" + o.batchSize() + " grad-accum=" + o.gradAccum()
                + " warmup-ratio=" + o.warmupRatio() + " seed=" + o.seed() + " dtype=" + o.dtype().cliName();
    }

    public void write(Path dir) {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode n = om.createObjectNode();
        n.put("epoch", epoch);
        n.put("global_step", globalStep);
        n.put("total_steps", totalSteps);
        n.put("settings", settings);
        n.put("data_sha256", dataSha256);
        n.put("loss_scale", lossScale);
        n.put("good_steps", goodSteps);
        ArrayNode history = n.putArray("log_history");
        for (Trainer.StepLog s : log) {
            ObjectNode e = history.addObject();
            e.put("step", s.step());
            e.put("epoch", s.epoch());
            e.put("loss", s.loss());
            e.put("learning_rate", s.lr());
            e.put("grad_norm", s.gradNorm());
            e.put("skipped", s.skipped());
            e.put("tokens", s.tokens());
            e.put("seconds", s.seconds());
        }
        try {
            om.writeValue(dir.resolve(FILE).toFile(), n);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
        }
    }

    public static TrainState read(Path dir) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(dir.resolve(FILE).toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(dir.resolve(FILE) + ": cannot read: " + e.getMessage(), e);
        }
        List<Trainer.StepLog> log = new ArrayList<>();
        for (JsonNode e : n.path("log_history")) {
            log.add(new Trainer.StepLog(e.path("step").asInt(), e.path("epoch").asInt(), e.path("loss").asDouble(),
                    e.path("learning_rate").asDouble(), e.path("grad_norm").asDouble(), e.path("skipped").asBoolean(),
                    e.path("tokens").asLong(), e.path("seconds").asDouble()));
        }
        return new TrainState(n.path("epoch").asInt(), n.path("global_step").asInt(), n.path("total_steps").asInt(),
                n.path("settings").asText(), n.path("data_sha256").asText(), n.path("loss_scale").asDouble(1),
                n.path("good_steps").asInt(), log);
    }
}
