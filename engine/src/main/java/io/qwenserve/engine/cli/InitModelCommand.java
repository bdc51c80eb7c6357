package io.qwenserve.engine.cli;

import io.qwenserve.engine.checkpoint.DType;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code bin/qwen init-model}: a random-weight checkpoint in the real layout, plus the tokenizer file. */
@Command(name = "init-model", description = "Write a random-weight checkpoint in the real Hugging Face layout.")
final class InitModelCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Output folder.")
    Path out;

    @Option(names = "--arch", required = true, description = "qwen, qwen2 or qwen3.")
    String arch;

    @Option(names = "--layers") Integer layers;
    @Option(names = "--hidden") Integer hidden;
    @Option(names = "--heads") Integer heads;
    @Option(names = "--kv-heads", description = "KV heads (GQA; Qwen v1 always uses --heads).") Integer kvHeads;
    @Option(names = "--head-dim", description = "Qwen3 only (default hidden/heads).") Integer headDim;
    @Option(names = "--intermediate", description = "Real MLP width (Qwen v1's config.json stores twice this).") Integer intermediate;
    @Option(names = "--vocab") Integer vocab;
    @Option(names = "--seq-length", description = "Qwen v1: training context S for dynamic NTK and logN; others: max positions.") Integer seqLength;
    @Option(names = "--dtype", defaultValue = "fp32", description = "Stored dtype: fp32, bf16 or fp16.") String dtype;
    @Option(names = "--shards", defaultValue = "1") int shards;
    @Option(names = "--seed", defaultValue = "1234") long seed;
    @Option(names = "--gptq", description = "Write a GPTQ Int4 checkpoint (quantize_config.json, qweight/qzeros/scales/g_idx/bias "
            + "per linear, AutoGPTQ v1 packing) from the random weights; store the rest with --dtype fp16 as Qwen's Int4 files do.")
    boolean gptq;
    @Option(names = "--group-size", defaultValue = "128", description = "GPTQ group size (with --gptq).") int groupSize;
    @Option(names = "--desc-act", description = "GPTQ act-order g_idx (with --gptq): no int4 kernel fits, the loader dequantizes.")
    boolean descAct;

    @Option(names = "--tie-embeddings", negatable = true, description = "Qwen2/3: tie lm_head to the embedding (default true).") Boolean tie;

    @Override
    public Integer call() {
        Architecture a = Architecture.parse(arch);
        RandomCheckpoint.Spec t = RandomCheckpoint.Spec.tiny(a);
        int h = hidden != null ? hidden : t.hidden();
        int nh = heads != null ? heads : t.heads();
        DType stored = switch (io.qwenserve.engine.model.Precision.parse(dtype)) {
            case F32 -> DType.F32;
            case BF16 -> DType.BF16;
            case F16 -> DType.F16;
        };
        RandomCheckpoint.Spec spec = new RandomCheckpoint.Spec(a, layers != null ? layers : t.layers(), h, nh,
                kvHeads != null ? kvHeads : (a == Architecture.QWEN ? nh : Math.min(t.kvHeads(), nh)),
                headDim != null ? headDim : h / nh, intermediate != null ? intermediate : t.intermediateSize(),
                vocab != null ? vocab : t.vocab(), seqLength != null ? seqLength : t.seqLength(), stored, shards, seed,
                tie != null ? tie : t.tieEmbeddings());
        ModelConfig cfg = gptq ? RandomCheckpoint.writeGptq(out, spec, new RandomCheckpoint.Gptq(groupSize, descAct))
                : RandomCheckpoint.write(out, spec);
        System.out.printf("wrote %s: %s, %d layers, hidden %d, %d heads (%d KV), MLP %d, vocab %d, %s in %d shard(s)%s%n", out,
                cfg.architecture().hfClass(), cfg.numLayers(), cfg.hiddenSize(), cfg.numHeads(), cfg.numKvHeads(),
                cfg.intermediateSize(), cfg.vocabSize(), stored, Math.max(1, shards),
                gptq ? ", GPTQ int4 group " + groupSize + (descAct ? " act-order" : "") : "");
        return 0;
    }
}
