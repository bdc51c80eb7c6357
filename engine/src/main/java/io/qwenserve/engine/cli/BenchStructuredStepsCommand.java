package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.bench.StructuredStepBench;
import io.qwenserve.engine.structured.FormatBenchmark;
import io.qwenserve.engine.structured.ResponseFormat;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/qwen bench-structured-steps}: a constrained decode step against a free one, same engine, same run. */
@Command(name = "bench-structured-steps", description = "Time the engine's decode step with every sequence constrained by"
        + " a JSON Schema against free sequences, at each concurrency, in alternating rounds.")
final class BenchStructuredStepsCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;

    @Option(names = "--concurrency", defaultValue = "1,8", split = ",", description = "Concurrent requests (default 1,8).")
    int[] concurrency;

    @Option(names = "--new-tokens", defaultValue = "48")
    int newTokens;

    @Option(names = "--rounds", defaultValue = "3", description = "Timed rounds per mode (one more warms up).")
    int rounds;

    @Option(names = "--prompt-len", defaultValue = "16")
    int promptLen;

    @Option(names = "--schema", description = "JSON Schema file (default: the built-in object of 20 properties).")
    Path schema;

    @Override
    public Integer call() throws Exception {
        String text = schema != null ? Files.readString(schema) : FormatBenchmark.propertiesSchema(20);
        Map<String, Object> root = new LinkedHashMap<>();
        try (LoadedModel m = modelArgs.load()) {
            root.put("model", modelArgs.model.toString());
            root.put("dtype", modelArgs.dtype);
            root.put("threads", org.bytedeco.pytorch.global.torch.get_num_threads());
            root.put("load_average_start", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            root.put("concurrency", Arrays.toString(concurrency));
            root.put("new_tokens", newTokens);
            root.put("schema", schema != null ? schema.toString() : "built-in, 20 properties");
            root.putAll(StructuredStepBench.run(m, concurrency, newTokens, rounds, promptLen, ResponseFormat.jsonSchema(text)));
            root.put("load_average_end", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
        return 0;
    }
}
