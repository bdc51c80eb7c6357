package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Which linear kernel runs a call, by the number of token rows it multiplies: a small ordered list of rules
 * {@code (maxTokens, kernel)}, the first rule whose bound covers the rows wins; the last rule covers everything. Written
 * as {@code 1:GEMV,*:ONEDNN_PREPACKED} (one kernel alone, {@code ONEDNN_PREPACKED}, means that kernel for every size).
 *
 * <p>Linear layers prepare at load one weight form per kernel the policy names (a policy naming two float kernels with
 * different layouts holds two copies), then pick per call. The model code never sees the choice.
 */
public record KernelPolicy(List<Rule> rules) {

    /** Rows up to {@code maxTokens} (inclusive) run {@code kernel}; {@code maxTokens} is Integer.MAX_VALUE for "*". */
    public record Rule(int maxTokens, LinearKernel kernel) {
        @Override
        public String toString() {
            return (maxTokens == Integer.MAX_VALUE ? "*" : String.valueOf(maxTokens)) + ":" + kernel.name();
        }
    }

    public KernelPolicy {
        if (rules.isEmpty()) {
            throw new IllegalArgumentException("a kernel policy needs at least one rule");
        }
        List<Rule> sorted = new ArrayList<>(rules);
        sorted.sort((a, b) -> Integer.compare(a.maxTokens(), b.maxTokens()));
        if (sorted.get(sorted.size() - 1).maxTokens() != Integer.MAX_VALUE) {
            Rule last = sorted.remove(sorted.size() - 1);
            sorted.add(new Rule(Integer.MAX_VALUE, last.kernel()));
        }
        rules = Collections.unmodifiableList(sorted);
    }

    /** One kernel for every batch size. */
    public static KernelPolicy single(LinearKernel k) {
        return new KernelPolicy(List.of(new Rule(Integer.MAX_VALUE, k)));
    }

    /**
     * The default for a device, dtype and weight format. CPU: prepacked oneDNN for float weights (bf16/fp32), fbgemm
     * int8 for {@link Quantization#INT8}, the int4 kernel for GPTQ checkpoints. CUDA: cuBLAS through {@code torch.linear}
     * (GPTQ weights dequantized at load).
     */
    public static KernelPolicy defaultFor(boolean cpu, Precision precision, Quantization quantization, boolean gptq) {
        if (!cpu) {
            return single(LinearKernel.PLAIN);
        }
        if (gptq) {
            return single(LinearKernel.INT4_PACKED);
        }
        if (quantization == Quantization.INT8) {
            return single(LinearKernel.INT8_FBGEMM);
        }
        return single(LinearKernel.defaultFor(true, precision));
    }

    /** Parses {@code KERNEL} or {@code N:KERNEL,...,*:KERNEL}. */
    public static KernelPolicy parse(String s) {
        List<Rule> rules = new ArrayList<>();
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int colon = p.indexOf(':');
            if (colon < 0) {
                rules.add(new Rule(Integer.MAX_VALUE, LinearKernel.parse(p)));
                continue;
            }
            String bound = p.substring(0, colon).trim();
            int max;
            try {
                max = bound.equals("*") ? Integer.MAX_VALUE : Integer.parseInt(bound);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("kernel policy '" + s + "': bad token bound '" + bound + "'");
            }
            if (max < 1) {
                throw new IllegalArgumentException("kernel policy '" + s + "': token bound must be >= 1");
            }
            rules.add(new Rule(max, LinearKernel.parse(p.substring(colon + 1))));
        }
        if (rules.isEmpty()) {
            throw new IllegalArgumentException("empty kernel policy");
        }
        return new KernelPolicy(rules);
    }

    /** The kernel for a call multiplying {@code tokens} rows. */
    public LinearKernel choose(long tokens) {
        for (Rule r : rules) {
            if (tokens <= r.maxTokens()) {
                return r.kernel();
            }
        }
        return rules.get(rules.size() - 1).kernel();
    }

    /** Every kernel the policy may pick. */
    public Set<LinearKernel> kernels() {
        Set<LinearKernel> s = EnumSet.noneOf(LinearKernel.class);
        rules.forEach(r -> s.add(r.kernel()));
        return s;
    }

    /** Rejects kernels the device cannot run. */
    public void checkDevice(boolean cpu) {
        if (!cpu) {
            for (LinearKernel k : kernels()) {
                if (k.cpuOnly()) {
                    throw new IllegalArgumentException("linear kernel " + k + " runs on the CPU only (policy " + this + ")");
                }
            }
        }
    }

    @Override
    public String toString() {
        if (rules.size() == 1) {
            return rules.get(0).kernel().name();
        }
        StringBuilder b = new StringBuilder();
        for (Rule r : rules) {
            b.append(b.isEmpty() ? "" : ",").append(r);
        }
        return b.toString();
    }
}
