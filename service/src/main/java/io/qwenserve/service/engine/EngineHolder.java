package io.qwenserve.service.engine;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.lora.LoraAdapters;
import io.qwenserve.engine.train.DemoModel;
import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.checkpoint.RandomCheckpoint;
import io.qwenserve.engine.config.Architecture;
import io.qwenserve.engine.model.KernelPolicy;
import io.qwenserve.engine.model.LinearKernel;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.Precision;
import io.qwenserve.engine.model.Quantization;
import io.qwenserve.engine.model.TorchRuntime;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.sched.EngineConfig;
import io.qwenserve.service.config.QwenConfig;
import io.qwenserve.service.metrics.EngineMetrics;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/**
 * Owns the model and the engine for the life of the service: loads them in the background at start-up (so health
 * endpoints answer while a large model loads), and drains the engine on shutdown.
 */
@ApplicationScoped
public class EngineHolder {
    private static final Logger LOG = Logger.getLogger(EngineHolder.class);

    /** Life cycle, as readiness and the APIs see it. */
    public enum State { LOADING, READY, DRAINING, STOPPED, FAILED }

    @Inject
    QwenConfig config;

    @Inject
    EngineMetrics metrics;

    /** Written next to a generated demo model: the spec it was made from, so a changed spec remakes it. */
    static final String DEMO_SPEC = "qwen-demo-spec.txt";

    private volatile State state = State.LOADING;
    private volatile Engine engine;
    private volatile String failure;
    private volatile boolean demo;
    private volatile Path modelDir;
    private final CompletableFuture<Engine> ready = new CompletableFuture<>();
    private final java.util.concurrent.atomic.AtomicInteger openStreams = new java.util.concurrent.atomic.AtomicInteger();

    void onStart(@Observes StartupEvent event) {
        Thread t = new Thread(this::load, "qwen-model-loader");
        t.setDaemon(true);
        t.start();
    }

    private void load() {
        try {
            Path dir = config.model().path().filter(p -> !p.isBlank()).map(Path::of).orElse(null);
            Map<String, Path> adapters = adapters(config);
            if (dir == null) {
                dir = demoModel(adapters);
                demo = true;
            }
            modelDir = dir;
            long t0 = System.nanoTime();
            ModelOptions options = new ModelOptions(Precision.parse(config.model().dtype()), config.model().device(),
                    config.model().kernel().map(LinearKernel::parse).orElse(null), true,
                    Quantization.parse(config.model().quantize()),
                    config.model().kernelPolicy().filter(p -> !p.isBlank()).map(KernelPolicy::parse).orElse(null),
                    config.engine().threads().orElse(0));
            LoadedModel model = LoadedModel.load(dir, options);
            LoraAdapters loras;
            try {
                loras = LoraAdapters.load(model.model(), dir.getFileName().toString(), adapters, config.lora().maxLoaded());
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            engine = new Engine(model, engineConfig(config), metrics, loras);
            metrics.bind(engine);
            state = State.READY;
            ready.complete(engine);
            io.qwenserve.engine.api.ModelInfo info = engine.modelInfo();
            LOG.infof("model %s (%s, %s on %s, weights %s, kernels %s, %d threads) ready in %.1f s; max model length %d tokens",
                    info.name(), info.architecture(), info.dtype(), info.device(), info.weightFormat(), info.kernelPolicy(),
                    TorchRuntime.threads(), (System.nanoTime() - t0) / 1e9, info.maxModelLen());
            for (io.qwenserve.engine.api.AdapterInfo a : engine.adapters()) {
                LOG.infof("LoRA adapter %s (r %d, alpha %s, %s) from %s", a.name(), a.rank(), a.alpha(),
                        String.join(",", a.targetModules()), a.dir());
            }
        } catch (Throwable t) {
            failure = t.getMessage() != null ? t.getMessage() : t.toString();
            state = State.FAILED;
            ready.completeExceptionally(t);
            LOG.errorf(t, "model failed to load: %s", failure);
        }
    }

    /** {@code qwen.engine.*} and {@code qwen.sampling.*} over the engine's own defaults. */
    static EngineConfig engineConfig(QwenConfig config) {
        QwenConfig.Engine e = config.engine();
        EngineConfig defaults = EngineConfig.defaults();
        EngineConfig.Builder b = defaults.toBuilder();
        int maxBatch = e.maxBatch().orElse(defaults.maxBatch());
        b.maxBatch(maxBatch).maxBatchTokens(Math.max(e.maxBatchTokens().orElse(defaults.maxBatchTokens()), maxBatch));
        e.queueSize().ifPresent(b::queueSize);
        e.blockSize().ifPresent(b::blockSize);
        e.kvCacheBytes().ifPresent(b::kvCacheBytes);
        e.kvCacheTokens().ifPresent(b::kvCacheTokens);
        e.maxModelLen().ifPresent(b::maxModelLen);
        e.streamBuffer().ifPresent(b::streamBuffer);
        e.maxPromptTokens().ifPresent(b::maxPromptTokens);
        e.maxNewTokens().ifPresent(b::maxNewTokens);
        e.maxStopStrings().ifPresent(b::maxStopStrings);
        e.maxStopLength().ifPresent(b::maxStopLength);
        e.maxStepFailures().ifPresent(b::maxStepFailures);
        e.prefixCaching().ifPresent(b::prefixCaching);
        e.gpuMemoryUtilization().ifPresent(b::gpuMemoryUtilization);
        QwenConfig.Sampling s = config.sampling();
        return b.sampling(new EngineConfig.SamplingDefaults(
                boxed(s.temperature()), boxed(s.topP()), s.topK().isPresent() ? s.topK().getAsInt() : null,
                boxed(s.repetitionPenalty()), s.maxTokens(), s.seed().isPresent() ? s.seed().getAsLong() : null)).build();
    }

    private static Double boxed(java.util.OptionalDouble d) {
        return d.isPresent() ? d.getAsDouble() : null;
    }

    /** {@code qwen.lora.adapters}: NAME=DIR entries, in order. */
    static Map<String, Path> adapters(QwenConfig config) {
        Map<String, Path> out = new LinkedHashMap<>();
        for (String entry : config.lora().adapters().orElse(List.of())) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new IllegalArgumentException("qwen.lora.adapters: '" + entry + "' is not NAME=DIR");
            }
            String name = entry.substring(0, eq).trim();
            if (out.put(name, Path.of(entry.substring(eq + 1).trim())) != null) {
                throw new IllegalArgumentException("qwen.lora.adapters: adapter '" + name + "' is given twice");
            }
        }
        return out;
    }

    /** The demo model; the trained one also brings its adapter, added to {@code adapters} unless one has its name. */
    private Path demoModel(Map<String, Path> adapters) {
        if (config.model().demo().trained()) {
            Path dir = Path.of(config.model().demo().dir()).toAbsolutePath();
            LOG.warn("\n"
                    + "********************************************************************************\n"
                    + "*  No model configured (qwen.model.path / --model): serving the DEMO model, a   *\n"
                    + "*  tiny Qwen2 trained by finetune --method full on a few conversations, with    *\n"
                    + "*  its LoRA adapter '" + DemoModel.ADAPTER + "'. It knows those conversations and nothing else.   *\n"
                    + "*  It is trained on the first start (about a minute), then reused.             *\n"
                    + "********************************************************************************");
            DemoModel.Trained t = DemoModel.ensure(dir, null);
            adapters.putIfAbsent(DemoModel.ADAPTER, t.adapter());
            LOG.warnf("demo model at %s, adapter '%s' at %s", t.model(), DemoModel.ADAPTER, t.adapter());
            return t.model();
        }
        Path dir = Path.of(config.model().demo().dir()).toAbsolutePath();
        Architecture arch = Architecture.parse(config.model().demo().arch());
        LOG.warn("""

                ********************************************************************************
                *  No model configured (qwen.model.path / --model): serving a DEMO model with   *
                *  RANDOM WEIGHTS in the real Qwen layout, with the real tokenizer.             *
                *  Its output is gibberish. Point qwen.model.path at a real checkpoint.          *
                ********************************************************************************""");
        ensureDemoModel(dir, arch);
        LOG.warnf("demo model (%s) at %s", arch.hfClass(), dir);
        return dir;
    }

    /**
     * Writes the demo model of {@code arch} into {@code dir} unless the folder already holds one made from the same
     * spec; a folder made from another spec (another architecture, or a changed generator) is emptied and remade.
     */
    static void ensureDemoModel(Path dir, Architecture arch) {
        RandomCheckpoint.Spec spec = RandomCheckpoint.Spec.tiny(arch);
        Path marker = dir.resolve(DEMO_SPEC);
        try {
            if (!Files.exists(dir.resolve("config.json")) || !Files.exists(marker) || !Files.readString(marker).equals(spec.toString())) {
                // first start, or the demo's spec (e.g. qwen.model.demo.arch) changed since the folder was written
                if (Files.isDirectory(dir)) {
                    try (var files = Files.list(dir)) {
                        for (Path f : (Iterable<Path>) files::iterator) {
                            if (Files.isRegularFile(f)) {
                                Files.delete(f);
                            }
                        }
                    }
                }
                RandomCheckpoint.write(dir, spec);
                Files.writeString(marker, spec.toString());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("demo model at " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The engine, or UNAVAILABLE while loading, draining or after a failed load. */
    public Engine engine() {
        Engine e = engine;
        if (state != State.READY || e == null) {
            throw new EngineRejectedException(EngineRejectedException.Reason.UNAVAILABLE, switch (state) {
                case LOADING -> "the model is still loading";
                case DRAINING, STOPPED -> "the server is shutting down";
                case FAILED -> "the model failed to load: " + failure;
                case READY -> "the engine is not running";
            });
        }
        return e;
    }

    /** Completes when the engine is ready (tests, start-up hooks). */
    public CompletableFuture<Engine> whenReady() {
        return ready;
    }

    public State state() {
        return state;
    }

    public boolean demo() {
        return demo;
    }

    public Path modelDir() {
        return modelDir;
    }

    public String failure() {
        return failure;
    }

    /**
     * SIGTERM: Quarkus first announces a shutdown delay, during which the server still serves. The engine drains
     * here: readiness goes down, new work is refused, in-flight work gets the grace period and the rest ends with
     * CANCELLED, and the streams still reach their clients.
     */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        drain();
    }

    /** Fallback when no delay phase ran (e.g. tests, or the delay disabled). */
    void onStop(@Observes ShutdownEvent event) {
        drain();
    }

    /** Transports register their open streams so a drain can wait for the last events to leave. */
    public void streamOpened() {
        openStreams.incrementAndGet();
    }

    public void streamClosed() {
        openStreams.decrementAndGet();
    }

    public synchronized void drain() {
        Engine e = engine;
        if (state == State.READY && e != null) {
            state = State.DRAINING;
            LOG.infof("draining: up to %s for %d running and %d waiting requests", config.shutdown().grace(),
                    e.stats().running(), e.stats().waiting());
            e.drain(config.shutdown().grace());
            state = State.STOPPED;
            long until = System.currentTimeMillis() + 2000;
            while (openStreams.get() > 0 && System.currentTimeMillis() < until) {
                try {
                    Thread.sleep(10); // terminal events still on their way to clients
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            LOG.infof("engine stopped (%d streams still open)", openStreams.get());
        }
    }
}
