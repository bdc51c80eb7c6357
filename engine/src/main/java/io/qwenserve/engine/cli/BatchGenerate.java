package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.engine.sched.EngineListener;
import java.io.BufferedReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/** {@code generate --batch-file}: every request through the batching scheduler, results printed in input order. */
final class BatchGenerate {
    private final ModelArgs modelArgs;
    private final LoraArgs lora;
    private final SamplingArgs sampling;
    private final Path file;
    private final int concurrency;
    private final ObjectMapper om = new ObjectMapper();

    BatchGenerate(ModelArgs modelArgs, LoraArgs lora, SamplingArgs sampling, Path file, int concurrency) {
        this.modelArgs = modelArgs;
        this.lora = lora;
        this.sampling = sampling;
        this.file = file;
        this.concurrency = Math.max(1, concurrency);
    }

    int run() throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int n = 0;
            for (String line; (line = r.readLine()) != null; ) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = om.readTree(line);
                if (node == null || !node.isObject()) {
                    throw new IllegalArgumentException(file + " line " + n + ": expected a JSON object");
                }
                lines.add(node);
            }
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadedModel m = modelArgs.load();
             Engine engine = new Engine(m, EngineConfig.defaults().withMaxBatch(concurrency).withQueueSize(Math.max(1024, lines.size())),
                     EngineListener.NONE, lora.adapters(m))) {
            SamplingOptions base = sampling.options();
            Semaphore inFlight = new Semaphore(concurrency);
            ExecutorService readers = Executors.newCachedThreadPool();
            List<Future<ObjectNode>> results = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                JsonNode line = lines.get(i);
                String id = line.hasNonNull("id") ? line.get("id").asText() : "line-" + (i + 1);
                inFlight.acquire();
                GenerationStream stream;
                try {
                    stream = engine.submit(new GenerationRequest(id, prompt(line), params(base, line), 0, null, lora.name()));
                } catch (IllegalArgumentException | EngineRejectedException e) {
                    inFlight.release();
                    ObjectNode err = om.createObjectNode().put("id", id).put("error", e.getMessage());
                    results.add(java.util.concurrent.CompletableFuture.completedFuture(err));
                    continue;
                }
                results.add(readers.submit(() -> {
                    try {
                        return collect(id, stream);
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            for (Future<ObjectNode> f : results) {
                out.println(f.get());
            }
            readers.shutdown();
        }
        return 0;
    }

    private static Prompt prompt(JsonNode line) {
        if (line.has("prompt_ids")) {
            JsonNode a = line.get("prompt_ids");
            if (!a.isArray()) {
                throw new IllegalArgumentException("prompt_ids must be an array of integers");
            }
            int[] ids = new int[a.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = a.get(i).asInt();
            }
            return new Prompt.Ids(ids);
        }
        if (line.hasNonNull("prompt")) {
            return new Prompt.Text(line.get("prompt").asText());
        }
        throw new IllegalArgumentException("a request needs \"prompt\" or \"prompt_ids\"");
    }

    private static SamplingOptions params(SamplingOptions base, JsonNode line) {
        SamplingOptions.Builder b = base.toBuilder();
        if (line.has("max_new_tokens")) {
            b.maxTokens(line.get("max_new_tokens").asInt());
        }
        if (line.has("temperature")) {
            b.temperature(line.get("temperature").asDouble());
        }
        if (line.has("top_p")) {
            b.topP(line.get("top_p").asDouble());
        }
        if (line.has("top_k")) {
            b.topK(line.get("top_k").asInt());
        }
        if (line.has("seed")) {
            b.seed(line.get("seed").asLong());
        }
        if (line.has("stop")) {
            List<String> stops = new ArrayList<>();
            if (line.get("stop").isArray()) {
                line.get("stop").forEach(s -> stops.add(s.asText()));
            } else {
                stops.add(line.get("stop").asText());
            }
            b.stop(stops);
        }
        return b.build();
    }

    private ObjectNode collect(String id, GenerationStream stream) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        GenerationEvent.Final fin = null;
        for (GenerationEvent e : stream.drain()) {
            if (e instanceof GenerationEvent.Chunk c) {
                text.append(c.text());
                for (int t : c.tokenIds()) {
                    ids.add(t);
                }
            } else {
                fin = (GenerationEvent.Final) e;
            }
        }
        ObjectNode o = om.createObjectNode();
        o.put("id", id);
        var arr = o.putArray("ids");
        ids.forEach(arr::add);
        o.put("text", text.toString());
        o.put("finish_reason", fin.reason().wireName());
        o.putObject("usage").put("prompt_tokens", fin.usage().promptTokens()).put("completion_tokens", fin.usage().completionTokens());
        if (fin.message() != null) {
            o.put("message", fin.message());
        }
        return o;
    }
}
