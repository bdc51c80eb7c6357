package io.qwenserve.engine.train;

import io.qwenserve.engine.checkpoint.Checkpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/** Files of a model folder other than its weights: config, generation config, tokenizer. */
public final class ModelFolder {
    private ModelFolder() {}

    /** Whether {@code name} holds weights (safetensors files and their index, pickles). */
    public static boolean isWeights(String name) {
        return name.endsWith(".safetensors") || name.equals(Checkpoint.INDEX) || name.endsWith(".bin")
                || name.endsWith(".pt") || name.equals("pytorch_model.bin.index.json");
    }

    /**
     * Copies every regular file of {@code from} that is not weights into {@code to}, except {@code skip}; returns the
     * names copied.
     */
    public static List<String> copyNonWeights(Path from, Path to, List<String> skip) {
        try (Stream<Path> files = Files.list(from)) {
            Files.createDirectories(to);
            List<Path> list = files.filter(Files::isRegularFile)
                    .filter(p -> !isWeights(p.getFileName().toString()) && !skip.contains(p.getFileName().toString()))
                    .sorted().toList();
            for (Path p : list) {
                Files.copy(p, to.resolve(p.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
            return list.stream().map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the model files of " + from + " to " + to, e);
        }
    }

    /** Removes the weight files of {@code dir} (before writing new ones, so no stale shard or index remains). */
    public static void removeWeights(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> isWeights(f.getFileName().toString())).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the weights of " + dir, e);
        }
    }
}
