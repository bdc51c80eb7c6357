package io.qwenserve.engine.sched;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.AdapterInfo;
import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.EngineRejectedException.Reason;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.ModelInfo;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.chat.ChatTemplate;
import io.qwenserve.engine.kv.BlockPool;
import io.qwenserve.engine.kv.KvCacheSizing;
import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.lora.LoraAdapters;
import io.qwenserve.engine.sample.Sampler;
import io.qwenserve.engine.sample.SequenceSampler;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The engine: many threads submit, one loop thread runs the model.
 *
 * <pre>
 *   submit() (any thread): InputProcessor (validate, tokenize, defaults) -> inbox
 *   loop thread:           inbox -> Scheduler.schedule() -> ModelRunner.execute() -> Scheduler.update()
 *                          -> OutputProcessor (detokenize, stop strings, events) -> streams
 * </pre>
 *
 * A bad request is refused on the submitting thread and never reaches the loop. The loop owns the model, the KV cache
 * and every {@link Sequence}; results leave it only through each request's {@link GenerationStream}, which never
 * blocks the loop. A step that throws ends only that step's sequences (ERROR); {@link EngineConfig#maxStepFailures()}
 * failures in a row mark the engine failed: it stops accepting and everything in it ends with ERROR.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Engine.class.getName());

    private final LoadedModel model;
    private final LoraAdapters adapters;
    private final EngineConfig config;
    private final EngineListener listener;
    private final PagedKvCache cache;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final InputProcessor inputs;
    private final OutputProcessor outputs;
    private final ModelInfo info;
    private final int maxModelLen;
    private final Intake intake;
    private final AtomicLong arrivals = new AtomicLong();
    private final AtomicInteger injectedFailures = new AtomicInteger();
    private final Thread loop;
    private volatile boolean accepting = true;
    private volatile boolean stopping;
    private volatile boolean forceStop;
    private volatile boolean alive = true;
    private volatile String failure;
    private final StatsBoard stats;
    private long steps;
    private int failuresInARow;

    public Engine(LoadedModel model, EngineConfig config, EngineListener listener) {
        this(model, config, listener, LoraAdapters.none());
    }

    /**
     * An engine that also serves LoRA adapters by name ({@link GenerationRequest#adapter()}), per row of each batch. It
     * takes over {@code adapters} (closed with the engine).
     */
    public Engine(LoadedModel model, EngineConfig config, EngineListener listener, LoraAdapters adapters) {
        this.adapters = adapters;
        this.model = model;
        this.config = config;
        this.listener = listener;
        int modelLen = model.config().maxPositionEmbeddings();
        this.maxModelLen = config.maxModelLen() > 0 ? Math.min(config.maxModelLen(), modelLen) : modelLen;
        KvCacheSizing.Plan kvPlan = KvCacheSizing.forDevices(model.config(), model.model().precision(), model.model().devices(),
                config.blockSize(), config.kvCacheTokens(), config.kvCacheBytes(), config.maxBatch(), config.maxBatchTokens(),
                maxModelLen, config.gpuMemoryUtilization());
        int blocks = kvPlan.blocks();
        this.cache = new PagedKvCache(model.config(), blocks, config.blockSize(), model.model().precision(), model.model().devices());
        this.kv = new KvCacheManager(blocks, config.blockSize(), config.prefixCaching());
        this.intake = new Intake(config.queueSize());
        this.inputs = new InputProcessor(model.tokenizer(), model.chatTemplate(), model.defaults(), model.stopIds(),
                model.config().vocabSize(), config, maxModelLen, (long) blocks * config.blockSize(), adapters::contains);
        this.outputs = new OutputProcessor(model.tokenizer(), listener);
        this.scheduler = new Scheduler(config, kv, new SchedulerEvents(intake, outputs, listener), adapters.maxLoaded());
        this.runner = new ModelRunner(model.model(), cache,
                new Sampler(Math.min(model.tokenizer().vocabSize(), model.config().vocabSize())), adapters,
                scheduler::runningAdapters);
        this.info = model.info(maxModelLen);
        this.stats = new StatsBoard(snapshot());
        this.loop = new Thread(this::run, "qwen-engine-loop");
        this.loop.setDaemon(true);
        this.loop.start();
        LOG.info(() -> String.format("engine: %d KV blocks of %d tokens = %d tokens fit (%.1f MiB; %s), max batch %d seqs / %d "
                + "tokens, max model len %d", blocks, config.blockSize(), kvPlan.tokens(), cache.bytes() / 1048576.0, kvPlan.rule(),
                config.maxBatch(), config.maxBatchTokens(), maxModelLen));
    }

    public EngineConfig config() {
        return config;
    }

    /** The LoRA adapters served next to the model, in registration order. */
    public List<AdapterInfo> adapters() {
        return List.copyOf(adapters.infos());
    }

    /** The model served, as transports may see it. */
    public ModelInfo modelInfo() {
        return info;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    /** The model's tokenizer (for tokenize endpoints and token texts). */
    public QwenTokenizer tokenizer() {
        return model.tokenizer();
    }

    /** The model's chat template (for prompts built from a conversation in parts). */
    public ChatTemplate chatTemplate() {
        return model.chatTemplate();
    }

    /** Tokenizes a prompt exactly as {@link #submit} does. */
    public int[] tokenize(Prompt prompt) {
        return inputs.tokenize(prompt);
    }

    /**
     * Validates and tokenizes a request (on the calling thread), queues it and returns its event stream.
     *
     * @throws EngineRejectedException when the request is invalid, too long, the queue is full or the engine is not
     *                                 accepting work
     * @throws io.qwenserve.engine.sample.InvalidParameterException when a sampling field is out of range
     */
    public GenerationStream submit(GenerationRequest request) {
        return submitAll(List.of(request)).get(0);
    }

    /**
     * Submits several requests all or none (the choices of one API call): either every one is queued, or none is and
     * the first refusal is thrown. Requests sharing one {@link Prompt} instance are tokenized once.
     */
    public List<GenerationStream> submitAll(List<GenerationRequest> requests) {
        checkAccepting();
        Map<Prompt, int[]> tokenized = new IdentityHashMap<>();
        List<InputProcessor.Processed> processed = new ArrayList<>(requests.size());
        for (GenerationRequest r : requests) {
            processed.add(inputs.process(r, tokenized));
        }
        List<String> ids = requests.stream().map(GenerationRequest::requestId).toList();
        intake.reserve(ids);
        List<GenerationStream> streams = new ArrayList<>(ids.size());
        List<Runnable> adds = new ArrayList<>(ids.size());
        for (InputProcessor.Processed p : processed) {
            GenerationRequest r = p.request();
            GenerationStream stream = new GenerationStream(r.requestId(), config.streamBuffer());
            stream.setCanceller(() -> cancel(r.requestId()));
            OutputProcessor.Output output = outputs.open(p, stream);
            Sequence seq = new Sequence(r.requestId(), p.prompt(), r.priority(), r.deadline(),
                    new SequenceSampler(p.params(), p.prompt()), p.stopIds(), arrivals.incrementAndGet(),
                    model.model().rope().ntkAlpha(p.prompt().length), Math.min(p.params().maxTokens(), maxModelLen - p.prompt().length),
                    output, p.grammar() == null ? null : inputs.structuredOutputs().matcher(p.grammar(), p.stopIds()),
                    r.adapter(), prefixRoot(r.adapter()));
            streams.add(stream);
            adds.add(() -> {
                scheduler.add(seq);
                outputs.queued(output);
            });
        }
        intake.enqueue(ids, adds, this::unavailable);
        LockSupport.unpark(loop);
        return streams;
    }

    /** The prefix cache's root key for an adapter's sequences: each adapter (and the base) caches its own blocks. */
    private long prefixRoot(String adapter) {
        if (adapter == null) {
            return BlockPool.ROOT;
        }
        int index = 0;
        for (AdapterInfo a : adapters.infos()) {
            if (a.name().equals(adapter)) {
                return BlockPool.ROOT - 1 - index; // cache ids are >= 0, so roots never collide
            }
            index++;
        }
        throw new IllegalStateException("unknown adapter " + adapter);
    }

    private void checkAccepting() {
        if (!accepting) {
            throw unavailable();
        }
    }

    private EngineRejectedException unavailable() {
        return new EngineRejectedException(Reason.UNAVAILABLE, failure != null ? "the engine failed: " + failure
                : "the engine is not accepting requests (draining or stopped)");
    }

    /** Cancels a request (queued or running); its stream ends with CANCELLED. Unknown ids are ignored. */
    public void cancel(String requestId) {
        intake.post(() -> scheduler.cancel(requestId, FinishReason.CANCELLED));
        LockSupport.unpark(loop);
    }

    /** The gauges and counters as of the last step (refreshed by the loop thread only). */
    public EngineStats stats() {
        return stats.get();
    }

    /**
     * Waits until the engine's stats satisfy {@code condition} (checked after every step and idle pass), and returns
     * them. For tests and start-up hooks that must wait on the engine rather than on time.
     *
     * @throws TimeoutException when {@code timeout} passes first
     */
    public EngineStats awaitStats(Predicate<EngineStats> condition, Duration timeout) throws TimeoutException, InterruptedException {
        return stats.await(condition, timeout, () -> LockSupport.unpark(loop)); // an idle loop re-publishes at once
    }

    private void publish() {
        stats.publish(snapshot());
    }

    private EngineStats snapshot() {
        return new EngineStats(scheduler.numRunning(), intake.queued(), scheduler.blocksUsed(), scheduler.blocksTotal(),
                scheduler.preemptions, scheduler.promptTokens, scheduler.generationTokens, steps, alive, accepting && alive,
                kv.queries(), kv.hits());
    }

    private void run() {
        try {
            while (true) {
                for (Runnable r; (r = intake.poll()) != null; ) {
                    r.run();
                }
                if (forceStop) {
                    scheduler.abortAll(FinishReason.CANCELLED, "the server is shutting down");
                }
                if (stopping && !scheduler.hasWork() && intake.isEmpty()) {
                    break;
                }
                long t0 = System.nanoTime();
                SchedulerOutput out = scheduler.schedule();
                if (out.isEmpty()) {
                    publish();
                    LockSupport.parkNanos(this, scheduler.hasWork() ? 1_000_000 : 50_000_000);
                    continue;
                }
                if (!step(out, t0)) {
                    break;
                }
            }
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "engine loop failed", t);
            failure = String.valueOf(t);
        } finally {
            end();
        }
    }

    /** Runs one scheduled step; false when failures in a row have marked the engine failed. */
    private boolean step(SchedulerOutput out, long t0) {
        long t1 = System.nanoTime();
        long t2;
        try {
            if (injectedFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IllegalStateException("injected step failure");
            }
            ModelRunnerOutput result = runner.execute(out);
            t2 = System.nanoTime();
            scheduler.update(out, result);
            failuresInARow = 0;
        } catch (RuntimeException | Error e) {
            if (e instanceof VirtualMachineError && !(e instanceof OutOfMemoryError)) {
                throw e;
            }
            failuresInARow++;
            LOG.log(Level.SEVERE, "engine step failed (" + failuresInARow + " in a row); ending its " + out.entries().size() + " sequences", e);
            scheduler.fail(out, "engine step failed: " + e);
            steps++;
            if (failuresInARow >= config.maxStepFailures()) {
                failure = failuresInARow + " steps in a row failed; last: " + e;
                return false;
            }
            publish();
            return true;
        }
        steps++;
        publish();
        listener.onStep(out.entries().size(), out.numTokens(), out.numDecode(), t2 - t1, System.nanoTime() - t0);
        return true;
    }

    /** The loop is ending: nothing more is taken, and everything still in the engine gets its final event. */
    private void end() {
        accepting = false;
        intake.close();
        FinishReason reason = failure != null ? FinishReason.ERROR : FinishReason.CANCELLED;
        String message = failure != null ? "engine failure: " + failure : "the server is shutting down";
        try {
            for (Runnable r; (r = intake.poll()) != null; ) {
                r.run();
            }
            scheduler.abortAll(reason, message);
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "could not end every request", t);
        }
        alive = false;
        publish();
    }

    /**
     * Stops taking requests, lets those in flight finish within {@code grace}, then cancels the rest (CANCELLED) and
     * stops the loop. Returns when the loop has ended.
     */
    public void drain(Duration grace) {
        accepting = false;
        stopping = true;
        LockSupport.unpark(loop);
        try {
            loop.join(Math.max(1, grace.toMillis()));
            if (loop.isAlive()) {
                forceStop = true;
                LockSupport.unpark(loop);
                loop.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs the scheduler's block-accounting check on the engine thread and refreshes {@link #stats()} (tests). */
    public void checkInvariants() {
        if (!loop.isAlive()) {
            scheduler.checkInvariants();
            return;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        intake.post(() -> {
            try {
                scheduler.checkInvariants();
                publish();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        LockSupport.unpark(loop);
        done.join();
    }

    /** Test hook: the next {@code n} steps throw before running the model (each fails only its own sequences). */
    public void injectStepFailures(int n) {
        injectedFailures.addAndGet(n);
        LockSupport.unpark(loop);
    }

    /** Whether the engine takes new requests. */
    public boolean accepting() {
        return accepting && alive;
    }

    /** Whether the engine stopped because of failures (see {@link #failure()}). */
    public boolean failed() {
        return failure != null;
    }

    /** Why the engine failed, or null. */
    public String failure() {
        return failure;
    }

    @Override
    public void close() {
        drain(Duration.ZERO);
        cache.close();
        adapters.close();
    }
}
