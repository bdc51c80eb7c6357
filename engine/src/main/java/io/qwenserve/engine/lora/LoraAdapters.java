package io.qwenserve.engine.lora;

import io.qwenserve.engine.api.AdapterInfo;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.DeviceMap;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.train.AdapterConfig;
import io.qwenserve.engine.train.PeftAdapter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The LoRA adapters an engine serves by name. Every adapter is read and checked against the base when registered
 * (start-up): an adapter that does not fit is refused there, with the tensor named. At most {@link #maxLoaded} are held
 * in memory (serving form, {@link LoraWeights}); another one is read again when a step needs it, in place of the least
 * recently used adapter no running request uses. The scheduler never runs more distinct adapters at once than that.
 *
 * <p>Registration happens before the engine starts; {@link #weights} runs on the engine loop only.
 */
public final class LoraAdapters implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LoraAdapters.class.getName());
    /** Adapter names: what an OpenAI model id, a gRPC field and a metric label all carry safely. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final Map<String, AdapterInfo> infos = new LinkedHashMap<>();
    private final ModelConfig cfg;
    private final ScalarType dtype;
    private final DeviceMap devices;
    private final String baseName;
    private final int maxLoaded;
    private final LinkedHashMap<String, LoraWeights> loaded = new LinkedHashMap<>(16, 0.75f, true); // LRU order
    private long loads;

    private LoraAdapters(ModelConfig cfg, ScalarType dtype, DeviceMap devices, String baseName, int maxLoaded) {
        if (maxLoaded < 1) {
            throw new IllegalArgumentException("max-loaded must be at least 1, got " + maxLoaded);
        }
        this.cfg = cfg;
        this.dtype = dtype;
        this.devices = devices;
        this.baseName = baseName;
        this.maxLoaded = maxLoaded;
    }

    /** No adapters. */
    public static LoraAdapters none() {
        return new LoraAdapters(null, null, null, null, 1);
    }

    /**
     * Registers {@code adapters} (name to folder, in order) for {@code model}, named {@code baseName} in listings, and
     * loads the first {@code maxLoaded} of them.
     *
     * @throws IllegalArgumentException a bad name, a duplicate, or an adapter that does not fit (tensor named)
     */
    public static LoraAdapters load(QwenModel model, String baseName, Map<String, Path> adapters, int maxLoaded) {
        LoraAdapters a = new LoraAdapters(model.config(), model.precision().scalarType(), model.devices(), baseName, maxLoaded);
        try {
            adapters.forEach(a::register);
        } catch (RuntimeException e) {
            a.close();
            throw e;
        }
        return a;
    }

    private void register(String name, Path dir) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("adapter name '" + name + "': use letters, digits, '.', '_' or '-' (at most 64)");
        }
        if (name.equals(baseName)) {
            throw new IllegalArgumentException("adapter name '" + name + "' is the base model's name");
        }
        if (infos.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' is given twice");
        }
        try (PeftAdapter peft = PeftAdapter.read(dir, cfg)) { // checks every tensor against the base
            AdapterConfig c = peft.config();
            infos.put(name, new AdapterInfo(name, dir.toAbsolutePath().normalize(), baseName, c.r(), c.loraAlpha(), c.targetModules()));
            if (loaded.size() < maxLoaded) {
                loaded.put(name, LoraWeights.of(name, peft, cfg, dtype, devices));
                loads++;
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("adapter '" + name + "' (" + dir + ") does not fit the base model: " + e.getMessage(), e);
        }
        LOG.info(() -> "LoRA adapter '" + name + "' from " + dir + (loaded.containsKey(name) ? " (loaded)" : " (loaded when used)"));
    }

    public boolean isEmpty() {
        return infos.isEmpty();
    }

    public boolean contains(String name) {
        return infos.containsKey(name);
    }

    public Collection<AdapterInfo> infos() {
        return List.copyOf(infos.values());
    }

    public int maxLoaded() {
        return maxLoaded;
    }

    /** Adapters read from disk so far (registration included). */
    public synchronized long loads() {
        return loads;
    }

    /**
     * The serving weights of {@code name}, read now if they are not held; making room evicts the least recently used
     * adapter outside {@code inUse}. Engine loop only.
     */
    public synchronized LoraWeights weights(String name, Set<String> inUse) {
        LoraWeights w = loaded.get(name);
        if (w != null) {
            return w;
        }
        AdapterInfo info = infos.get(name);
        if (info == null) {
            throw new IllegalArgumentException("unknown adapter '" + name + "'");
        }
        if (loaded.size() >= maxLoaded) {
            String victim = null;
            for (String n : loaded.keySet()) { // least recently used first
                if (!inUse.contains(n)) {
                    victim = n;
                    break;
                }
            }
            if (victim == null) {
                throw new IllegalStateException("all " + maxLoaded + " loaded adapters are in use; cannot load '" + name + "'");
            }
            loaded.remove(victim).close();
        }
        try (PeftAdapter peft = PeftAdapter.read(info.dir(), cfg)) {
            w = LoraWeights.of(name, peft, cfg, dtype, devices);
        }
        loaded.put(name, w);
        loads++;
        return w;
    }

    /** Names of the adapters held in memory now. */
    public synchronized List<String> loadedNames() {
        return new ArrayList<>(loaded.keySet());
    }

    @Override
    public synchronized void close() {
        loaded.values().forEach(LoraWeights::close);
        loaded.clear();
    }
}
