package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import io.qwenserve.engine.TestLogits;
import io.qwenserve.engine.TestModels;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.LinearKernel;
import io.qwenserve.engine.model.ModelLoader;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.PromptLogits;
import io.qwenserve.engine.model.QwenModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The trainable forward pass with a LoRA adapter (fp32, no dropout) against the serving engine running the merged
 * weights that {@code merge-lora} writes: max |Δlogit| ≤ 1e-4 at every position, for Qwen v1, Qwen2 and Qwen3. The
 * base model alone must match the engine to the same bound (the trainable forward pass is the same function), and the
 * adapter must move the logits by far more than the bound (B is random, not PEFT's zero start).
 */
class LoraMergeEquivalenceTest {
    static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    static int[] ids(long seed, int n) {
        return new SplittableRandom(seed).ints(n, 0, 151851).toArray();
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void loraForwardEqualsTheMergedModel(Architecture arch) {
        Path base = TestModels.tiny(arch);
        int[] prompt = ids(arch.ordinal() + 7, 24);
        ModelConfig cfg = ModelConfig.load(base);
        float[][] baseTrain;
        float[][] adapted;
        Path adapterDir = tmp.resolve("adapter");
        try (TrainModel m = TrainModelLoader.load(base, ScalarType.Float, new Device(torch.DeviceType.CPU), false)) {
            baseTrain = TrainEval.logits(m, prompt);
            torch.manual_seed(5);
            Map<String, LoraPair> pairs = new LinkedHashMap<>();
            for (TrainLinear lin : m.linears()) {
                LoraPair p = LoraPair.init(lin.in(), lin.out(), 8, 16.0 / 8, 0.05);
                try (NoGradGuard g = new NoGradGuard()) {
                    p.b().copy_(torch.randn(lin.out(), 8).mul(new Scalar(0.05)));
                }
                lin.attach(p);
                pairs.put(lin.name(), p);
            }
            adapted = TrainEval.logits(m, prompt);
            new PeftAdapter(new AdapterConfig(8, 16, 0.05, LoraModules.defaultTargets(arch), base.toString(), false), pairs)
                    .write(adapterDir);
        }
        Path merged = tmp.resolve("merged");
        assertEquals(LoraModules.all(cfg).size(), LoraMerger.merge(base, adapterDir, merged));

        float[][] engineBase = engineLogits(base, prompt);
        float[][] engineMerged = engineLogits(merged, prompt);
        double baseDiff = TestLogits.maxAbsDiff(baseTrain, engineBase);
        double mergedDiff = TestLogits.maxAbsDiff(adapted, engineMerged);
        double moved = TestLogits.maxAbsDiff(adapted, baseTrain);
        System.out.printf("%s: train vs engine base %.2e, LoRA vs merged %.2e, LoRA moved logits by %.3f%n", arch, baseDiff,
                mergedDiff, moved);
        assertTrue(baseDiff <= TOLERANCE, arch + ": trainable forward vs engine: " + baseDiff);
        assertTrue(mergedDiff <= TOLERANCE, arch + ": LoRA forward vs merged weights: " + mergedDiff);
        assertTrue(moved > 100 * TOLERANCE, arch + ": the adapter barely changed the logits: " + moved);
    }

    static float[][] engineLogits(Path dir, int[] prompt) {
        try (QwenModel m = ModelLoader.load(dir, ModelOptions.of(Precision.F32).withKernel(LinearKernel.PLAIN));
             PromptLogits g = new PromptLogits(m, 64)) {
            return g.logits(prompt, true);
        }
    }
}
