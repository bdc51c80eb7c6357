package io.qwenserve.engine.sched;

import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.EngineRejectedException.Reason;
import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.bench.Memory;
import io.qwenserve.engine.kv.PagedKvCache;
import io.qwenserve.engine.sample.Sampler;
import io.qwenserve.engine.sample.SequenceSampler;
import io.qwenserve.engine.text.IncrementalDetokenizer;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The engine: many threads submit, one loop thread runs the model.
 *
 * <pre>
 *   submit() (any thread): tokenize + validate -> inbox
 *   loop thread:           inbox -> Scheduler.schedule() -> ModelRunner.execute() -> Scheduler.update() -> streams
 * </pre>
 *
 * Tokenization and validation happen on the caller's thread, so a bad request is refused there and never reaches the
 * loop. The loop owns the model, the KV cache and every {@link Sequence}; results leave it only through each
 * request's {@link GenerationStream}, which never blocks the loop.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Engine.class.getName());

    private final LoadedModel model;
    private final EngineConfig config;
    private final PagedKvCache cache;
    private final KvCacheManager kv;
    private final EngineListener listener;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final int maxModelLen;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicLong arrivals = new AtomicLong();
    /** Submitted requests not yet scheduled (the waiting queue, including the inbox). */
    private final AtomicLong queued = new AtomicLong();
    private final Thread loop;
    private volatile boolean accepting = true;
    private volatile boolean stopping;
    private volatile boolean forceStop;
    private volatile boolean alive = true;
    private volatile EngineStats stats;
    private long steps;

    public Engine(LoadedModel model, EngineConfig config, EngineListener listener) {
        this.model = model;
        this.config = config;
        this.listener = listener;
        int modelLen = model.config().maxPositionEmbeddings();
        this.maxModelLen = config.maxModelLen() > 0 ? Math.min(config.maxModelLen(), modelLen) : modelLen;
        int blocks;
        if (config.kvCacheTokens() > 0) {
            blocks = Math.max(1, (config.kvCacheTokens() + config.blockSize() - 1) / config.blockSize());
        } else if (config.kvCacheBytes() > 0) {
            blocks = PagedKvCache.blocksForBudget(model.config(), model.model().precision(), config.blockSize(), config.kvCacheBytes());
        } else {
            // default: a quarter of free memory, but never more than a full batch of full-length sequences can use
            int useful = (int) Math.min(Integer.MAX_VALUE, ((long) config.maxNumSeqs() * maxModelLen + config.blockSize() - 1) / config.blockSize());
            blocks = Math.min(useful, PagedKvCache.blocksForBudget(model.config(), model.model().precision(), config.blockSize(), defaultKvBytes()));
        }
        this.cache = new PagedKvCache(model.config(), blocks, config.blockSize(), model.model().precision(), model.model().device());
        this.kv = new KvCacheManager(blocks, config.blockSize());
        this.scheduler = new Scheduler(config, kv, listener, new Scheduler.Hooks() {
            @Override
            public void admitted(Sequence s) {
                queued.decrementAndGet();
            }

            @Override
            public void ended(Sequence s) {
                if (s.firstScheduledNanos == 0) {
                    queued.decrementAndGet();
                }
                inFlight.remove(s.id);
            }
        });
        this.runner = new ModelRunner(model.model(), cache,
                new Sampler(Math.min(model.tokenizer().vocabSize(), model.config().vocabSize())));
        this.stats = snapshot();
        this.loop = new Thread(this::run, "qwen-engine-loop");
        this.loop.setDaemon(true);
        this.loop.start();
        LOG.info(() -> String.format("engine: %d KV blocks of %d tokens (%.1f MiB), max batch %d seqs / %d tokens, max model len %d",
                blocks, config.blockSize(), cache.bytes() / 1048576.0, config.maxNumSeqs(), config.maxBatchTokens(), maxModelLen));
    }

    /** Default KV budget: a quarter of the memory available now, at most 8 GiB, at least 64 MiB. */
    private static long defaultKvBytes() {
        long available = Memory.availableBytes();
        return Math.max(64L << 20, Math.min(8L << 30, available > 0 ? available / 4 : 1L << 30));
    }

    public LoadedModel model() {
        return model;
    }

    public EngineConfig config() {
        return config;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    /** Tokenizes a prompt the way {@link #submit} does (chat template for messages). */
    public int[] tokenize(Prompt prompt) {
        if (prompt instanceof Prompt.Ids ids) {
            return ids.ids().clone();
        }
        if (prompt instanceof Prompt.Text text) {
            return model.tokenizer().encode(text.text());
        }
        return model.chatTemplate().encode(((Prompt.Chat) prompt).messages());
    }

    /**
     * Queues a request and returns its event stream. Safe from any thread.
     *
     * @throws EngineRejectedException when the request is invalid, too long, the queue is full or the engine is not
     *                                 accepting work
     */
    public GenerationStream submit(GenerationRequest request) {
        if (!accepting) {
            throw new EngineRejectedException(Reason.UNAVAILABLE, "the engine is not accepting requests (draining or stopped)");
        }
        int[] prompt;
        try {
            prompt = tokenize(request.prompt());
        } catch (IllegalArgumentException e) {
            throw new EngineRejectedException(Reason.INVALID, request.prompt() instanceof Prompt.Chat ? "messages" : "prompt", e.getMessage());
        }
        validate(request, prompt);
        if (queued.get() >= config.maxWaiting()) {
            throw new EngineRejectedException(Reason.QUEUE_FULL, "the waiting queue is full (" + config.maxWaiting() + " requests)");
        }
        if (!inFlight.add(request.requestId())) {
            throw new EngineRejectedException(Reason.INVALID, "request_id", "request_id '" + request.requestId() + "' is already in flight");
        }
        GenerationStream stream = new GenerationStream(request.requestId(), config.streamBuffer());
        stream.setCanceller(() -> cancel(request.requestId()));
        Set<Integer> stopIds = new HashSet<>(model.stopIds());
        stopIds.addAll(request.sampling().stopIds());
        Sequence seq = new Sequence(request, prompt, stream, new SequenceSampler(request.sampling(), prompt),
                new IncrementalDetokenizer(model.tokenizer()::tokenBytes, model.tokenizer()::isSpecial, request.sampling().stop()),
                stopIds, arrivals.incrementAndGet(), model.model().rope().ntkAlpha(prompt.length),
                Math.min(request.sampling().maxTokens(), maxModelLen - prompt.length));
        queued.incrementAndGet();
        inbox.add(() -> scheduler.add(seq));
        LockSupport.unpark(loop);
        return stream;
    }

    private void validate(GenerationRequest request, int[] prompt) {
        if (prompt.length == 0) {
            throw new EngineRejectedException(Reason.INVALID, "prompt", "the prompt is empty");
        }
        int vocab = model.config().vocabSize();
        for (int id : prompt) {
            if (id < 0 || id >= vocab) {
                throw new EngineRejectedException(Reason.INVALID, "prompt_token_ids", "token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (prompt.length + 1 > maxModelLen) {
            throw new EngineRejectedException(Reason.PROMPT_TOO_LONG, "prompt of " + prompt.length
                    + " tokens leaves no room to generate within the context of " + maxModelLen + " tokens");
        }
        if (cache.blocksFor(prompt.length + 1) > cache.numBlocks()) {
            throw new EngineRejectedException(Reason.PROMPT_TOO_LONG, "prompt of " + prompt.length
                    + " tokens does not fit the KV cache of " + (long) cache.numBlocks() * cache.blockSize() + " tokens");
        }
    }

    /** Cancels a request (queued or running); its stream ends with CANCELLED. Unknown ids are ignored. */
    public void cancel(String requestId) {
        inbox.add(() -> scheduler.cancel(requestId, FinishReason.CANCELLED));
        LockSupport.unpark(loop);
    }

    public EngineStats stats() {
        return stats;
    }

    private EngineStats snapshot() {
        return new EngineStats(scheduler.numRunning(), (int) queued.get(),
                kv.used(), kv.total(), scheduler.preemptions, scheduler.promptTokens,
                scheduler.generationTokens, steps, alive, accepting);
    }

    private void run() {
        try {
            while (true) {
                for (Runnable r; (r = inbox.poll()) != null; ) {
                    r.run();
                }
                if (forceStop) {
                    scheduler.abortAll(FinishReason.CANCELLED, "the server is shutting down");
                }
                if (stopping && !scheduler.hasWork() && inbox.isEmpty()) {
                    break;
                }
                long t0 = System.nanoTime();
                SchedulerOutput out = scheduler.schedule();
                if (out.isEmpty()) {
                    stats = snapshot();
                    LockSupport.parkNanos(this, scheduler.hasWork() ? 1_000_000 : 50_000_000);
                    continue;
                }
                long t1 = System.nanoTime();
                ModelRunnerOutput result = runner.execute(out);
                long t2 = System.nanoTime();
                scheduler.update(out, result);
                steps++;
                stats = snapshot();
                listener.onStep(out.entries().size(), out.numTokens(), out.numDecode(), t2 - t1, System.nanoTime() - t0);
            }
        } catch (Throwable t) {
            LOG.log(Level.SEVERE, "engine loop failed", t);
            accepting = false;
            try {
                scheduler.abortAll(FinishReason.ERROR, "engine failure: " + t);
            } catch (Throwable ignored) {
                // nothing more to do
            }
        } finally {
            alive = false;
            stats = snapshot();
        }
    }

    /**
     * Stops taking requests, lets those in flight finish within {@code grace}, then cancels the rest (CANCELLED) and
     * stops the loop. Returns when the loop has ended.
     */
    public void drain(Duration grace) {
        accepting = false;
        stopping = true;
        stats = snapshot();
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
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        inbox.add(() -> {
            try {
                scheduler.checkInvariants();
                stats = snapshot();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        LockSupport.unpark(loop);
        done.join();
    }

    /** Whether the engine takes new requests. */
    public boolean accepting() {
        return accepting && alive;
    }

    @Override
    public void close() {
        drain(Duration.ZERO);
        cache.close();
    }

}
