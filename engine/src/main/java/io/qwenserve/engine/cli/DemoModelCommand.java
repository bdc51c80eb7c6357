package io.qwenserve.engine.cli;

import io.qwenserve.engine.train.DemoModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/qwen demo-model}: trains (once) and locates the demo model and its adapter. */
@Command(name = "demo-model", description = {"Train the demo model (a tiny Qwen2, finetune --method full from random weights on "
        + "the conversations kept with the engine) and its 'pirate' LoRA adapter, once; print where they are."})
final class DemoModelCommand implements Callable<Integer> {
    @Option(names = "--dir", defaultValue = "${java.io.tmpdir}/qwen-demo-trained",
            description = "Folder of the trained demo (reused while its recipe is unchanged; default ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public Integer call() {
        DemoModel.Trained t = DemoModel.ensure(dir, System.err);
        System.out.println("{\"model\": \"" + t.model() + "\", \"adapter\": \"" + t.adapter() + "\", \"adapter_name\": \""
                + DemoModel.ADAPTER + "\"}");
        return 0;
    }
}
