package io.qwenserve.engine.train;

import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.config.ModelConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The linear modules of a checkpoint that LoRA can target, with their shapes, named as in the checkpoint, and PEFT's
 * rule for picking them: a target matches a module whose name equals it or ends with {@code "." + target}, so Qwen v1's
 * {@code c_proj} picks both {@code attn.c_proj} and {@code mlp.c_proj}.
 */
public final class LoraModules {
    /** One linear: {@code name} as in the checkpoint (no {@code .weight}), weight [out, in]. */
    public record Module(String name, long in, long out) {}

    /** The finetune script's default for Qwen v1. */
    public static final List<String> QWEN_V1_TARGETS = List.of("c_attn", "c_proj", "w1", "w2");
    /** The usual PEFT targets of Qwen2/3: every linear of the decoder layers. */
    public static final List<String> QWEN2_TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    private LoraModules() {}

    public static List<String> defaultTargets(Architecture arch) {
        return arch == Architecture.QWEN ? QWEN_V1_TARGETS : QWEN2_TARGETS;
    }

    /** Every decoder linear of the model, layer by layer, keyed by name. */
    public static Map<String, Module> all(ModelConfig cfg) {
        Architecture a = cfg.architecture();
        long d = cfg.hiddenSize();
        long q = cfg.qSize();
        long kv = cfg.kvSize();
        long f = cfg.intermediateSize();
        Map<String, Module> out = new LinkedHashMap<>();
        for (int i = 0; i < cfg.numLayers(); i++) {
            List<Module> layer = new ArrayList<>();
            if (a == Architecture.QWEN) {
                layer.add(new Module(a.fusedQkv(i), d, q + 2 * kv));
            } else {
                layer.add(new Module(a.qProj(i), d, q));
                layer.add(new Module(a.kProj(i), d, kv));
                layer.add(new Module(a.vProj(i), d, kv));
            }
            layer.add(new Module(a.attnOut(i), q, d));
            layer.add(new Module(a.mlpGate(i), d, f));
            layer.add(new Module(a.mlpUp(i), d, f));
            layer.add(new Module(a.mlpDown(i), f, d));
            layer.forEach(m -> out.put(m.name(), m));
        }
        return out;
    }

    public static boolean matches(String module, String target) {
        return module.equals(target) || module.endsWith("." + target);
    }

    /**
     * The modules the targets pick, in model order. Every target must pick at least one module (a misspelt target
     * would otherwise train nothing there without a word).
     */
    public static List<Module> select(ModelConfig cfg, List<String> targets) {
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("no LoRA target modules");
        }
        Map<String, Module> all = all(cfg);
        List<Module> picked = new ArrayList<>();
        for (Module m : all.values()) {
            if (targets.stream().anyMatch(t -> matches(m.name(), t))) {
                picked.add(m);
            }
        }
        for (String t : targets) {
            if (all.keySet().stream().noneMatch(name -> matches(name, t))) {
                Set<String> names = new LinkedHashSet<>();
                all.keySet().forEach(n -> names.add(n.substring(n.lastIndexOf('.') + 1)));
                throw new IllegalArgumentException("target module '" + t + "' matches no linear of this "
                        + cfg.architecture().hfClass() + " model (its linears: " + String.join(", ", names) + ")");
            }
        }
        return picked;
    }
}
