package io.qwenserve.engine.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The epoch checkpoints of a run, {@code OUT/checkpoint-epoch-N}: the trained tensors in float32
 * ({@value #TRAINED}), the AdamW state ({@value #OPTIMIZER}: m and v per tensor, the step count), {@link TrainState}, and the result as
 * of that epoch (an adapter folder or a model folder). Each is written under a temporary name and renamed when
 * complete, so the newest complete checkpoint is always the one a resume reads.
 */
public final class Checkpoints {
    public static final String TRAINED = "trained.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    private static final String PREFIX = "checkpoint-epoch-";

    private final Path out;

    public Checkpoints(Path out) {
        this.out = out;
    }

    public Path dir(int epoch) {
        return out.resolve(PREFIX + epoch);
    }

    /** The state of the newest complete checkpoint; an error when there is none. */
    public TrainState latest() {
        int best = -1;
        if (Files.isDirectory(out)) {
            try (Stream<Path> s = Files.list(out)) {
                best = s.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith(PREFIX) && n.substring(PREFIX.length()).matches("\\d+"))
                        .filter(n -> Files.isRegularFile(out.resolve(n).resolve(TrainState.FILE)))
                        .mapToInt(n -> Integer.parseInt(n.substring(PREFIX.length()))).max().orElse(-1);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("--resume: no checkpoint in " + out + " (" + PREFIX + "N/" + TrainState.FILE + ")");
        }
        return TrainState.read(dir(best));
    }

    /** Writes the checkpoint of {@code state.epoch()}, with {@code extra} adding the result files; returns its folder. */
    public Path save(TrainState state, TrainableParams params, Trainer trainer, Consumer<Path> extra) {
        Path dir = dir(state.epoch());
        Path tmp = out.resolve(PREFIX + state.epoch() + ".tmp");
        try {
            delete(tmp);
            Files.createDirectories(tmp);
            params.write(tmp.resolve(TRAINED));
            trainer.saveOptimizer(tmp.resolve(OPTIMIZER));
            extra.accept(tmp);
            state.write(tmp);
            delete(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint " + dir, e);
        }
        return dir;
    }

    private static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
