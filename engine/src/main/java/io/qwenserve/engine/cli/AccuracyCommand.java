package io.qwenserve.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qwenserve.engine.bench.QuantAccuracy;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Quantization;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen accuracy}: logits of a model as loaded with the given options (e.g. {@code --quantize int8}, a GPTQ
 * checkpoint's int4 kernel) against a reference load of the same folder (unquantized, or GPTQ dequantized, in
 * {@code --reference-dtype}), on random prompts: top-1 agreement, max and mean |Δlogit|, greedy ids.
 */
@Command(name = "accuracy", description = "Compare a quantized load of a model with its unquantized (or dequantized) load.")
final class AccuracyCommand implements Callable<Integer> {
    @Mixin ModelArgs modelArgs;

    @Option(names = "--reference-dtype", defaultValue = "fp32", description = "Compute dtype of the reference load (default fp32).")
    String referenceDtype;
    @Option(names = "--prompts", defaultValue = "4") int prompts;
    @Option(names = "--prompt-len", defaultValue = "32") int promptLen;
    @Option(names = "--greedy-tokens", defaultValue = "16") int greedyTokens;
    @Option(names = "--seed", defaultValue = "7") long seed;

    @Override
    public Integer call() {
        ModelOptions candidate = modelArgs.options().withProgress(false);
        // reference: plain torch.linear on float weights (GPTQ dequantized at load), no quantization
        ModelOptions reference = new ModelOptions(Precision.parse(referenceDtype), candidate.device(),
                io.qwenserve.engine.model.LinearKernel.PLAIN, false, Quantization.NONE, null, candidate.threads());
        QuantAccuracy.Result r = QuantAccuracy.compare(modelArgs.model, reference, candidate, prompts, promptLen, greedyTokens, seed);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("model", modelArgs.model.toString());
        o.put("quantize", modelArgs.quantize);
        o.put("dtype", modelArgs.dtype);
        o.put("reference_dtype", referenceDtype);
        o.put("positions", r.positions());
        o.put("top1_agreement", io.qwenserve.engine.bench.BenchFigures.round(r.top1Agreement()));
        o.put("max_abs_dlogit", io.qwenserve.engine.bench.BenchFigures.round(r.maxAbsDelta()));
        o.put("mean_abs_dlogit", io.qwenserve.engine.bench.BenchFigures.round(r.meanAbsDelta()));
        o.put("reference_logit_spread", io.qwenserve.engine.bench.BenchFigures.round(r.referenceSpread()));
        o.put("greedy_ids_matched", r.greedyMatched());
        o.put("greedy_ids_total", r.greedyTotal());
        System.out.println(o.toPrettyString());
        return 0;
    }
}
