package io.qwenserve.engine.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link ReferenceQwen} on the tiny random checkpoints (real vocabulary size): causality, dynamic NTK, formats. */
class ReferenceQwenTinyModelTest {
    @TempDir
    static Path tmp;

    private static final Map<Architecture, ReferenceQwen> MODELS = new EnumMap<>(Architecture.class);

    @BeforeAll
    static void writeModels() {
        for (Architecture a : Architecture.values()) {
            Path dir = tmp.resolve(a.name());
            RandomCheckpoint.write(dir, RandomCheckpoint.Spec.tiny(a));
            MODELS.put(a, ReferenceQwen.load(dir));
        }
    }

    private static int[] randomIds(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(151851);   // real tokens only
        }
        return ids;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void logitsHaveTheVocabularyShapeAndAreFinite(Architecture a) {
        ReferenceQwen ref = MODELS.get(a);
        double[][] logits = ref.logits(randomIds(1, 5));
        assertEquals(5, logits.length);
        for (double[] row : logits) {
            assertEquals(151936, row.length);
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (double v : row) {
                assertTrue(Double.isFinite(v));
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertTrue(max - min > 1, "logits should have some spread, got " + (max - min));
        }
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void positionTDoesNotSeeLaterTokens(Architecture a) {
        ReferenceQwen ref = MODELS.get(a);
        int[] ids = randomIds(2, 12);
        int[] changed = ids.clone();
        for (int t = 7; t < changed.length; t++) {
            changed[t] = (changed[t] + 1000 + t) % 151851;
        }
        double[][] x = ref.logits(ids);
        double[][] y = ref.logits(changed);
        double[][] prefix = ref.logits(Arrays.copyOf(ids, 7));
        for (int t = 0; t < 7; t++) {
            assertArrayEquals(x[t], y[t], "position " + t);
            assertArrayEquals(x[t], prefix[t], "position " + t + " vs the prefix alone");
        }
        for (int t = 7; t < ids.length; t++) {
            assertFalse(Arrays.equals(x[t], y[t]), "position " + t + " should change");
        }
    }

    /** Positions depend on order: the same multiset of tokens in another order gives other logits at the end. */
    @ParameterizedTest
    @EnumSource(Architecture.class)
    void tokenOrderMatters(Architecture a) {
        ReferenceQwen ref = MODELS.get(a);
        int[] ids = {100, 200, 300, 400};
        int[] swapped = {200, 100, 300, 400};
        assertFalse(Arrays.equals(ref.logits(ids)[3], ref.logits(swapped)[3]));
    }

    /** seq_length 16: a 40-token prompt gets NTK alpha 7; prompts of at most 16 tokens are unaffected. */
    @Test
    void dynamicNtkChangesOnlyPromptsLongerThanSeqLength() throws IOException {
        Path on = tmp.resolve("ntk-on");
        RandomCheckpoint.write(on, RandomCheckpoint.Spec.tiny(Architecture.QWEN).withSeqLength(16));
        Path off = tmp.resolve("ntk-off");
        Files.createDirectories(off);
        try (Stream<Path> files = Files.list(on)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.createSymbolicLink(off.resolve(f.getFileName()), f);
            }
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) om.readTree(on.resolve("config.json").toFile());
        assertTrue(cfg.get("use_dynamic_ntk").asBoolean());
        cfg.put("use_dynamic_ntk", false);
        Files.delete(off.resolve("config.json"));
        om.writeValue(off.resolve("config.json").toFile(), cfg);

        ReferenceQwen withNtk = ReferenceQwen.load(on);
        ReferenceQwen without = ReferenceQwen.load(off);
        assertTrue(withNtk.config().useDynamicNtk());
        assertFalse(without.config().useDynamicNtk());
        assertEquals(16, without.config().seqLength());

        int[] ids = randomIds(3, 40);
        double[][] a = withNtk.logits(ids);
        double[][] b = without.logits(ids);
        assertArrayEquals(a[0], b[0], "position 0 has rotation angle 0 whatever the base");
        for (int t = 1; t < ids.length; t++) {
            assertFalse(Arrays.equals(a[t], b[t]), "position " + t);
        }
        for (int n : new int[] {1, 9, 16}) {
            int[] shortIds = Arrays.copyOf(ids, n);
            double[][] x = withNtk.logits(shortIds);
            double[][] y = without.logits(shortIds);
            for (int t = 0; t < n; t++) {
                assertArrayEquals(y[t], x[t], "prompt " + n + ", position " + t);
            }
        }
        // 17 tokens is already past S: alpha 3, so the last position moves.
        int[] seventeen = Arrays.copyOf(ids, 17);
        assertFalse(Arrays.equals(withNtk.logits(seventeen)[16], without.logits(seventeen)[16]));
    }

    /** The same seed in BF16, single file and 3 shards: identical logits (storage layout does not matter). */
    @Test
    void shardedAndSingleFileGiveIdenticalLogits() {
        Path one = tmp.resolve("bf16-1");
        Path three = tmp.resolve("bf16-3");
        RandomCheckpoint.write(one, RandomCheckpoint.Spec.tiny(Architecture.QWEN3).withDtype(DType.BF16));
        RandomCheckpoint.write(three, RandomCheckpoint.Spec.tiny(Architecture.QWEN3).withDtype(DType.BF16).withShards(3));
        assertTrue(Files.exists(three.resolve("model.safetensors.index.json")));
        int[] ids = randomIds(4, 6);
        double[][] a = ReferenceQwen.load(one).logits(ids);
        double[][] b = ReferenceQwen.load(three).logits(ids);
        for (int t = 0; t < ids.length; t++) {
            assertArrayEquals(a[t], b[t]);
        }
    }

    /** BF16 and F16 storage of the same random weights stay close to the F32 model (only rounding differs). */
    @Test
    void halfPrecisionStorageStaysCloseToF32() {
        int[] ids = randomIds(5, 8);
        double[][] ref = MODELS.get(Architecture.QWEN2).logits(ids);
        for (DType dt : new DType[] {DType.BF16, DType.F16}) {
            Path dir = tmp.resolve("q2-" + dt);
            RandomCheckpoint.write(dir, RandomCheckpoint.Spec.tiny(Architecture.QWEN2).withDtype(dt));
            double[][] x = ReferenceQwen.load(dir).logits(ids);
            double maxDiff = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < x[t].length; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(x[t][v] - ref[t][v]));
                }
            }
            assertTrue(maxDiff > 0 && maxDiff < (dt == DType.BF16 ? 0.5 : 0.05), dt + ": max |diff| " + maxDiff);
        }
    }
}
