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
 *
 * <p>A <em>measured</em> policy ({@code auto}, or {@code auto:KERNEL,KERNEL}) names candidates instead of rules: the
 * loader prepares the first decoder layer in every candidate's form, times each candidate there at step sizes from 1 to
 * a few hundred rows ({@link KernelTuner}), and loads the model with the rules the timings give; forms no rule uses are
 * dropped. Plain {@code auto} takes the candidates of the weight format ({@link #candidatesFor}).
 *
 * @param rules   the rules (for a measured policy, a placeholder until it is measured)
 * @param measure the candidates of a measured policy; empty for a policy of fixed rules
 */
public record KernelPolicy(List<Rule> rules, Set<LinearKernel> measure) {

    /** Rows up to {@code maxTokens} (inclusive) run {@code kernel}; {@code maxTokens} is Integer.MAX_VALUE for "*". */
    public record Rule(int maxTokens, LinearKernel kernel) {
        @Override
        public String toString() {
            return (maxTokens == Integer.MAX_VALUE ? "*" : String.valueOf(maxTokens)) + ":" + kernel.name();
        }
    }

    public KernelPolicy(List<Rule> rules) {
        this(rules, Set.of());
    }

    public KernelPolicy {
        measure = measure.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(measure));
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

    /**
     * A policy measured at load among {@code candidates} (empty: the weight format's, see {@link #candidatesFor}); its
     * placeholder rule is the first candidate.
     */
    public static KernelPolicy measured(Set<LinearKernel> candidates) {
        LinearKernel first = candidates.isEmpty() ? LinearKernel.PLAIN : EnumSet.copyOf(candidates).iterator().next();
        return new KernelPolicy(List.of(new Rule(Integer.MAX_VALUE, first)), candidates);
    }

    /** {@code auto}: measured among the weight format's candidates ({@link #resolveAuto}). */
    public static final KernelPolicy AUTO = new KernelPolicy(List.of(new Rule(Integer.MAX_VALUE, LinearKernel.PLAIN)),
            EnumSet.allOf(LinearKernel.class));

    /** Whether the rules are still to be measured. */
    public boolean isMeasured() {
        return !measure.isEmpty();
    }

    /** {@link #AUTO} made concrete for a device and weight format (CUDA: PLAIN); any other policy as it is. */
    public KernelPolicy resolveAuto(boolean cpu, Quantization quantization, boolean gptq) {
        if (!equals(AUTO)) {
            return this;
        }
        return cpu ? measured(candidatesFor(quantization, gptq)) : single(LinearKernel.PLAIN);
    }

    /**
     * The kernels {@code auto} measures for a weight format on the CPU: oneDNN prepacked and libtorch's own
     * matrix-vector path for float weights (both forms held when both win somewhere), fbgemm's dynamic int8 and
     * weight-only int8 for {@code --quantize int8}, the int4 kernel and the prepacked dequantized weight for GPTQ.
     */
    public static Set<LinearKernel> candidatesFor(Quantization quantization, boolean gptq) {
        if (gptq) {
            return EnumSet.of(LinearKernel.INT4_PACKED, LinearKernel.ONEDNN_PREPACKED);
        }
        if (quantization == Quantization.INT8) {
            return EnumSet.of(LinearKernel.INT8_FBGEMM, LinearKernel.INT8_WEIGHT_ONLY);
        }
        return EnumSet.of(LinearKernel.ONEDNN_PREPACKED, LinearKernel.GEMV);
    }

    /** One kernel for every batch size. */
    public static KernelPolicy single(LinearKernel k) {
        return new KernelPolicy(List.of(new Rule(Integer.MAX_VALUE, k)));
    }

    /**
     * The default for a device, dtype and weight format. CPU: prepacked oneDNN for float weights (bf16/fp32), measured
     * between fbgemm's dynamic int8 and weight-only int8 for {@link Quantization#INT8}, the int4 kernel for GPTQ
     * checkpoints. CUDA: cuBLAS through {@code torch.linear}, the CUDA int4 kernel for GPTQ checkpoints (layers it does
     * not fit dequantized at load).
     */
    public static KernelPolicy defaultFor(boolean cpu, Precision precision, Quantization quantization, boolean gptq) {
        if (!cpu) {
            return single(gptq ? LinearKernel.INT4_PACKED : LinearKernel.PLAIN);
        }
        if (gptq) {
            return single(LinearKernel.INT4_PACKED);
        }
        if (quantization == Quantization.INT8) {
            return measured(candidatesFor(quantization, false));
        }
        return single(LinearKernel.defaultFor(true, precision));
    }

    /** Parses {@code KERNEL}, {@code N:KERNEL,...,*:KERNEL}, {@code auto} or {@code auto:KERNEL,KERNEL,...}. */
    public static KernelPolicy parse(String s) {
        String t = s.trim();
        if (t.equalsIgnoreCase("auto")) {
            return AUTO;
        }
        if (t.regionMatches(true, 0, "auto:", 0, 5)) {
            Set<LinearKernel> c = EnumSet.noneOf(LinearKernel.class);
            for (String k : t.substring(5).split(",")) {
                if (!k.isBlank()) {
                    c.add(LinearKernel.parse(k));
                }
            }
            if (c.isEmpty()) {
                throw new IllegalArgumentException("kernel policy '" + s + "': auto: needs at least one kernel");
            }
            return measured(c);
        }
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

    /** Every kernel the policy may pick (for a measured policy: every candidate). */
    public Set<LinearKernel> kernels() {
        Set<LinearKernel> s = EnumSet.noneOf(LinearKernel.class);
        rules.forEach(r -> s.add(r.kernel()));
        s.addAll(measure);
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
        if (equals(AUTO)) {
            return "auto";
        }
        if (!measure.isEmpty()) {
            StringBuilder b = new StringBuilder("auto:");
            measure.forEach(k -> b.append(b.length() > 5 ? "," : "").append(k.name()));
            return b.toString();
        }
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
