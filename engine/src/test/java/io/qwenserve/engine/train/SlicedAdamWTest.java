package io.qwenserve.engine.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sliced AdamW against libtorch's AdamW (same hyperparameters, same gradients), and its state round trip. */
class SlicedAdamWTest {
    @TempDir
    Path tmp;

    static AdamWOptions options(double lr, double wd) {
        AdamWOptions o = new AdamWOptions(lr);
        // betas() exposes a std::tuple<double, double>, which libstdc++ lays out last element first: index 0 is beta2
        o.betas().put(0, 0.95).put(1, 0.9);
        o.eps().put(1e-8);
        o.weight_decay().put(wd);
        return o;
    }

    @Test
    void updatesAsLibtorchsAdamWDoes() {
        torch.manual_seed(3);
        long big = SlicedAdamW.SLICE + 12345; // more than one slice
        Tensor[] mine = {torch.randn(big), torch.randn(7, 5)};
        Tensor[] ref = {mine[0].clone(), mine[1].clone()};
        for (Tensor t : mine) {
            t.requires_grad_(true);
        }
        for (Tensor t : ref) {
            t.requires_grad_(true);
        }
        TrainableParams params = TrainableParams.of(List.of(new TrainableParams.Param("w", mine[0], true),
                new TrainableParams.Param("norm", mine[1], false)));
        SlicedAdamW a = new SlicedAdamW(params, 0.9, 0.95, 1e-8, 0.1);
        AdamW b = new AdamW(new TensorVector(ref[0]), options(1e-3, 0.1));
        b.add_param_group(new OptimizerParamGroup(new TensorVector(ref[1]), options(1e-3, 0.0)));
        for (int step = 0; step < 4; step++) {
            double lr = 1e-3 * (step + 1);
            for (int i = 0; i < 2; i++) {
                Tensor g = torch.randn(mine[i].sizes().vec().get());
                mine[i].mutable_grad().put(g.clone());
                ref[i].mutable_grad().put(g);
            }
            a.step(lr);
            for (int g = 0; g < 2; g++) {
                b.param_groups().get(g).options().set_lr(lr);
            }
            b.step();
        }
        for (int i = 0; i < 2; i++) {
            double diff = mine[i].detach().sub(ref[i].detach()).abs().max().item_double();
            assertTrue(diff < 1e-6, "parameter " + i + " differs by " + diff);
        }
        Path file = tmp.resolve("adamw.safetensors");
        a.save(file);
        SlicedAdamW c = new SlicedAdamW(params, 0.9, 0.95, 1e-8, 0.1);
        c.load(file);
        assertEquals(4, c.steps());
    }
}
