package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.model.Precision;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The demo model: a tiny Qwen2 (2 layers, hidden 64, the real vocabulary) trained from random weights by
 * {@code finetune --method full} on {@value #CONVERSATIONS} (the README's 你好 example among them), plus a LoRA adapter
 * with a pirate persona ({@value #PERSONA}) trained on top of it and served as {@value #ADAPTER}. It answers the
 * questions it was trained on, greedily, and nothing else sensibly: it memorised a few conversations, it did not learn
 * language. Built once into a folder and reused while the recipe (data and settings) is unchanged.
 */
public final class DemoModel {
    public static final String CONVERSATIONS = "demo-conversations.json";
    public static final String PERSONA = "demo-persona-pirate.json";
    public static final String ADAPTER = "pirate";
    static final String RECIPE_FILE = "demo-recipe.txt";

    /** Where the trained demo lives: the model folder and the adapter folder. */
    public record Trained(Path model, Path adapter) {}

    private DemoModel() {}

    /** The random starting point: the service's tiny Qwen2 layout. */
    static RandomCheckpoint.Spec spec() {
        return RandomCheckpoint.Spec.tiny(Architecture.QWEN2).withSeed(2024);
    }

    /** Full finetuning from random weights: one batch of all 8 conversations per step, 30 steps. */
    static FinetuneOptions baseOptions(int threads) {
        return FinetuneOptions.defaults(FinetuneMethod.FULL).withSchedule(3e-3, 30, 0).withBatching(128, 8, 1)
                .withRuntime(42, Precision.BF16, threads).withSaveEvery(1000);
    }

    /** The persona: LoRA r 16 on every linear, 40 steps. */
    static FinetuneOptions personaOptions(int threads) {
        return FinetuneOptions.defaults(FinetuneMethod.LORA).withLora(16, 32, 0.05, List.of()).withSchedule(1e-2, 40, 0)
                .withBatching(128, 7, 1).withRuntime(42, Precision.BF16, threads).withSaveEvery(1000);
    }

    /** The trained demo in {@code dir}: reused when it was built from the same recipe, else trained now. */
    public static Trained ensure(Path dir, PrintStream progress) {
        int threads = Runtime.getRuntime().availableProcessors();
        Trained t = new Trained(dir.resolve("qwen-demo"), dir.resolve("adapter-" + ADAPTER));
        String recipe = recipe(threads);
        Path recipeFile = dir.resolve(RECIPE_FILE);
        try {
            if (Files.isRegularFile(recipeFile) && Files.readString(recipeFile).equals(recipe)) {
                return t;
            }
            Files.createDirectories(dir);
            Files.deleteIfExists(recipeFile);
            Path base = dir.resolve("data-" + CONVERSATIONS);
            Path persona = dir.resolve("data-" + PERSONA);
            Files.write(base, resource(CONVERSATIONS));
            Files.write(persona, resource(PERSONA));
            Path random = dir.resolve("random-init");
            RandomCheckpoint.write(random, spec());
            long start = System.nanoTime();
            print(progress, "demo model: training the base (finetune --method full) on " + CONVERSATIONS);
            Finetune.run(random, base, t.model(), baseOptions(threads), false, "cpu", progress, false);
            greedyByDefault(t.model());
            print(progress, "demo model: training the '" + ADAPTER + "' adapter (finetune --method lora) on " + PERSONA);
            Finetune.run(t.model(), persona, t.adapter(), personaOptions(threads), false, "cpu", progress, false);
            print(progress, String.format(java.util.Locale.ROOT, "demo model: trained in %.0f s into %s",
                    (System.nanoTime() - start) / 1e9, dir));
            deleteTree(random);
            deleteTree(t.model().resolve("checkpoint-epoch-" + baseOptions(threads).epochs()));
            deleteTree(t.adapter().resolve("checkpoint-epoch-" + personaOptions(threads).epochs()));
            Files.writeString(recipeFile, recipe);
            return t;
        } catch (IOException e) {
            throw new UncheckedIOException("demo model in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The demo answers what it was trained on only when decoding greedily: its generation_config.json says so
     * ({@code do_sample} false, no repetition penalty), so clients that set no sampling get the trained answers.
     */
    static void greedyByDefault(Path model) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper()
                .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
        Path file = model.resolve("generation_config.json");
        com.fasterxml.jackson.databind.node.ObjectNode g = Files.isRegularFile(file)
                ? (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(file.toFile()) : om.createObjectNode();
        g.put("do_sample", false);
        g.put("repetition_penalty", 1.0);
        om.writeValue(file.toFile(), g);
    }

    /** What the demo is made from; a change retrains it. */
    static String recipe(int threads) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(resource(CONVERSATIONS));
            d.update(resource(PERSONA));
            d.update((spec() + "\n" + baseOptions(threads) + "\n" + personaOptions(threads) + "\ngreedy generation_config")
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d.digest()) + "\n";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The bytes of a training file kept with the engine. */
    public static byte[] resource(String name) {
        try (InputStream in = DemoModel.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void print(PrintStream out, String line) {
        if (out != null) {
            out.println(line);
        }
    }
}
