package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.qwenserve.engine.structured.FormatBenchmark;
import io.qwenserve.engine.structured.ResponseFormat;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/qwen bench-structured}: the constraint engine's costs without a model (see {@link FormatBenchmark}). */
@Command(name = "bench-structured", description = "Time structured-output automata and masks: build time of a"
        + " schema's automaton, mask computation, cached constrained steps, mask-cache memory. No model needed.")
final class BenchStructuredCommand implements Callable<Integer> {
    @Option(names = "--schema", description = "JSON Schema file (default: the built-in object of --properties properties).")
    Path schema;

    @Option(names = "--properties", defaultValue = "20", description = "Properties of the built-in schema (default 20).")
    int properties;

    @Option(names = "--json-object", description = "Also measure JSON mode (any object).")
    boolean jsonObject;

    @Option(names = "--compile-rounds", defaultValue = "10")
    int compileRounds;

    @Option(names = "--walks", defaultValue = "50", description = "Seeded random walks through the masks (default 50).")
    int walks;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--model", description = "Model folder whose tokenizer to use (default: the bundled qwen.tiktoken).")
    Path model;

    @Override
    public Integer call() throws Exception {
        QwenTokenizer tok = model != null ? QwenTokenizer.load(model) : QwenTokenizer.defaultQwen();
        FormatBenchmark bench = new FormatBenchmark(tok);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("threads", 1);
        root.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        root.put("vocab_size", tok.vocabSize());
        String schemaText = schema != null ? Files.readString(schema) : FormatBenchmark.propertiesSchema(properties);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("source", schema != null ? schema.toString() : "built-in, " + properties + " properties");
        s.putAll(bench.run(ResponseFormat.jsonSchema(schemaText), compileRounds, walks, seed));
        root.put("json_schema", s);
        if (jsonObject) {
            root.put("json_object", bench.run(ResponseFormat.jsonObject(), compileRounds, walks, seed));
        }
        root.put("regex", bench.run(ResponseFormat.regex("\\d{3}-\\d{4} [A-Z][a-z]{1,10}"), compileRounds, walks, seed));
        root.put("choice", bench.run(ResponseFormat.choice(List.of("positive", "negative", "neutral")), compileRounds, walks, seed));
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root));
        return 0;
    }
}
