package io.qwenserve.engine.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.bytedeco.pytorch.Device;

/**
 * Where a model's layers run: one device ({@code cuda:0}), or a list of them ({@code cuda:0,cuda:1}), each a stage of
 * consecutive decoder layers. Layers are split evenly (the first {@code layers % stages} stages take one more); the
 * embedding runs with the first stage and the final norm and output head with the last; each layer's KV pool lives on
 * its stage's device, and the hidden state moves to the next device between stages (pipeline placement, as the Qwen
 * README's {@code load_model_on_gpus(..., num_gpus=2)}: one step at a time, the stages run one after another).
 *
 * <p>All devices are of one kind. A device may be named more than once: its stages then run on it one after another,
 * which runs the multi-device code on one device (the CPU tests do this with {@code cpu,cpu}).
 */
public final class DeviceMap {
    private final String[] names;   // per stage, normalised: cpu, cuda:N
    private final Device[] devices; // per stage
    private final int[] firstLayer; // per stage, plus numLayers at the end

    private DeviceMap(String[] names, Device[] devices, int numLayers) {
        if (numLayers < names.length) {
            throw new IllegalArgumentException("device list '" + String.join(",", names) + "': " + names.length
                    + " devices for " + numLayers + " decoder layers (at most one device per layer)");
        }
        this.names = names;
        this.devices = devices;
        this.firstLayer = new int[names.length + 1];
        int base = numLayers / names.length;
        int extra = numLayers % names.length;
        for (int s = 0; s < names.length; s++) {
            firstLayer[s + 1] = firstLayer[s] + base + (s < extra ? 1 : 0);
        }
    }

    /**
     * Parses {@code spec} ({@code cpu}, {@code cuda}, {@code cuda:N}, or a comma-separated list of them) for a model of
     * {@code numLayers} decoder layers, checking that each CUDA device is there ({@link Torch#device}).
     */
    public static DeviceMap parse(String spec, int numLayers) {
        return of(names(spec), numLayers, Torch::device);
    }

    /** The map for {@code names} (already normalised), each opened with {@code open}. */
    static DeviceMap of(List<String> names, int numLayers, Function<String, Device> open) {
        Device[] devices = new Device[names.size()];
        for (int i = 0; i < devices.length; i++) {
            devices[i] = open.apply(names.get(i));
        }
        return new DeviceMap(names.toArray(String[]::new), devices, numLayers);
    }

    /** One device for every layer. */
    public static DeviceMap single(Device device, int numLayers) {
        return new DeviceMap(new String[] {device.str().getString()}, new Device[] {device}, Math.max(1, numLayers));
    }

    /**
     * The devices of {@code spec}, normalised ({@code cuda} is {@code cuda:0}), in order; all of one kind.
     *
     * @throws IllegalArgumentException an empty entry, an unknown name, or CPU and CUDA devices mixed
     */
    public static List<String> names(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("no device given (expected cpu, cuda, cuda:N or a list such as cuda:0,cuda:1)");
        }
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",", -1)) {
            String s = part.trim().toLowerCase(Locale.ROOT);
            if (s.isEmpty()) {
                throw new IllegalArgumentException("device list '" + spec + "' has an empty entry");
            }
            if (s.equals("cuda")) {
                s = "cuda:0";
            }
            if (!s.equals("cpu") && !s.matches("cuda:[0-9]{1,3}")) {
                throw new IllegalArgumentException("unknown device '" + part.trim() + "' (expected cpu, cuda or cuda:N)");
            }
            if (!s.equals("cpu")) {
                s = "cuda:" + Integer.parseInt(s.substring(5)); // cuda:01 is cuda:1
            }
            out.add(s);
        }
        if (out.stream().map(n -> n.equals("cpu")).distinct().count() > 1) {
            throw new IllegalArgumentException("device list '" + spec + "' mixes the CPU and CUDA devices: name devices of one kind");
        }
        return out;
    }

    public int stages() {
        return devices.length;
    }

    public Device device(int stage) {
        return devices[stage];
    }

    public String name(int stage) {
        return names[stage];
    }

    /** The first decoder layer of {@code stage}. */
    public int firstLayer(int stage) {
        return firstLayer[stage];
    }

    /** One past the last decoder layer of {@code stage}. */
    public int endLayer(int stage) {
        return firstLayer[stage + 1];
    }

    public int numLayers() {
        return firstLayer[devices.length];
    }

    public int stageOf(int layer) {
        if (layer < 0 || layer >= numLayers()) {
            throw new IndexOutOfBoundsException("layer " + layer + " of " + numLayers());
        }
        int s = 0;
        while (layer >= firstLayer[s + 1]) { // every stage has at least one layer
            s++;
        }
        return s;
    }

    /** The device of decoder layer {@code layer}. */
    public Device forLayer(int layer) {
        return devices[stageOf(layer)];
    }

    /** The embedding's device. */
    public Device first() {
        return devices[0];
    }

    /** The device of the output head, where a step's logits are. */
    public Device last() {
        return devices[devices.length - 1];
    }

    public boolean isCpu() {
        return devices[0].is_cpu();
    }

    /** The distinct devices (first appearance order) and the number of decoder layers on each. */
    public Map<String, Integer> layersPerDevice() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (int s = 0; s < devices.length; s++) {
            out.merge(names[s], endLayer(s) - firstLayer(s), Integer::sum);
        }
        return out;
    }

    /** The distinct devices, in first appearance order. */
    public List<Device> distinct() {
        List<Device> out = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        for (int s = 0; s < devices.length; s++) {
            if (!seen.contains(names[s])) {
                seen.add(names[s]);
                out.add(devices[s]);
            }
        }
        return out;
    }

    /** The list as given, normalised: {@code cpu}, {@code cuda:0,cuda:1}. */
    public String spec() {
        return String.join(",", names);
    }

    /** For the start log: {@code layers 0-13 on cuda:0, 14-27 on cuda:1}. */
    public String describe() {
        if (devices.length == 1) {
            return "all " + numLayers() + " layers on " + names[0];
        }
        List<String> parts = new ArrayList<>();
        for (int s = 0; s < devices.length; s++) {
            int last = endLayer(s) - 1;
            parts.add((firstLayer(s) == last ? "" + last : firstLayer(s) + "-" + last) + " on " + names[s]);
        }
        return "layers " + String.join(", ", parts) + " (embedding on " + names[0] + ", head on " + names[devices.length - 1] + ")";
    }

    @Override
    public String toString() {
        return spec();
    }
}
