package io.qwenserve.service.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import io.qwenserve.service.api.RequestMapper;
import io.qwenserve.service.config.QwenConfig;
import io.qwenserve.service.engine.EngineHolder;
import io.qwenserve.service.security.PriorityRange;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * Kafka request/reply ({@code qwen.kafka.enabled}): owns the Kafka clients and their threads for the life of the
 * service. Once the engine is ready it creates the missing topics, then runs the request poll loop
 * ({@link RequestConsumer}), the control-topic reader ({@link CancelListener}) and the reply thread. On shutdown it
 * stops taking requests before the engine drains (requests the grace period cuts off are handed back to the group),
 * then sends what is left, commits and leaves the group, so that another replica takes over at once.
 */
@ApplicationScoped
public class KafkaBridge {
    private static final Logger LOG = Logger.getLogger(KafkaBridge.class);

    /** Where the bridge is in its life. */
    public enum State { DISABLED, STARTING, RUNNING, STOPPED }

    /**
     * Kafka connectivity (its own health check, not readiness: HTTP and gRPC serve whatever the broker does), from
     * cached state.
     *
     * @param checkedAgoMs how long ago the broker was last asked (-1: not yet)
     * @param paused       whether the request partitions are paused (in-flight bound, backpressure, engine not accepting)
     */
    public record Health(boolean up, State state, String detail, int assignedPartitions, int inFlight, boolean paused, long checkedAgoMs) {}

    /** Whether the bridge is wedged: a loop died or stopped turning, or a partition cannot move while the broker answers. */
    public record Liveness(boolean up, String detail) {}

    /** A loop that has not finished an iteration for this long is wedged. */
    static final long LOOP_STALL_MS = 90_000;

    @Inject
    QwenConfig config;

    @Inject
    EngineHolder holder;

    @Inject
    RequestMapper mapper;

    @Inject
    MeterRegistry registry;

    /** The {@code kafka.*} configuration (Quarkus strips the prefix). */
    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafkaConfig;

    private final AtomicInteger inFlight = new AtomicInteger();
    private final String replica = replicaId();
    private volatile State state = State.DISABLED;
    private final CompletableFuture<Void> running = new CompletableFuture<>();
    private Admin admin;
    private ReplySender sender;
    private ExecutorService replyThread;
    private KafkaMetrics metrics;
    private RequestConsumer requests;
    private CancelListener cancels;
    private volatile CancelRegistry cancelled;
    private BrokerWatch watch;
    private Thread requestThread;
    private Thread cancelThread;
    private Thread watchThread;

    void onStart(@Observes StartupEvent event) {
        if (config.kafka().enabled()) {
            state = State.STARTING;
            daemon(this::start, "qwen-kafka-start");
        }
    }

    private void start() {
        try {
            holder.whenReady().join();
        } catch (RuntimeException e) {
            LOG.error("the engine failed to start: Kafka requests are not served");
            return;
        }
        QwenConfig.Kafka k = config.kafka();
        synchronized (this) {
            if (state != State.STARTING) {
                return;
            }
            admin = Admin.create(config(Map.of(), Map.of(CommonClientConfigs.CLIENT_ID_CONFIG, replica + "-admin"), false));
        }
        if (k.createTopics()) {
            createTopics(k);
        }
        synchronized (this) {
            if (state != State.STARTING) {
                return;
            }
            KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerConfig(), new StringSerializer(), new ByteArraySerializer());
            sender = new ReplySender(producer, k.deadLetterTopic(), replica);
            replyThread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "qwen-kafka-replies");
                t.setDaemon(true);
                return t;
            });
            Set<String> replyTopics = new LinkedHashSet<>(k.replyTopics());
            replyTopics.add(k.replyTopic());
            watch = new BrokerWatch(admin, producer, replyTopics);
            watch.checkNow();
            metrics = new KafkaMetrics(registry, inFlight, watch::up);
            cancelled = new CancelRegistry();
            RequestHandler handler = new RequestHandler(holder, mapper, sender, cancelled, replyThread, k.replyTopic(), watch,
                    k.priorityRange().filter(r -> !r.isBlank()).map(PriorityRange::parse).orElse(null));
            requests = new RequestConsumer(consumer(requestConsumerConfig()), k.requestTopic(), handler, metrics, k.maxInFlight(), inFlight,
                    watch::up);
            cancels = new CancelListener(consumer(config(Map.of(), Map.of(CommonClientConfigs.CLIENT_ID_CONFIG, replica + "-cancel",
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), false)), k.cancelTopic(), cancelled);
            requestThread = daemon(requests, "qwen-kafka-requests");
            cancelThread = daemon(cancels, "qwen-kafka-cancel");
            watchThread = daemon(watch, "qwen-kafka-watch");
            state = State.RUNNING;
            running.complete(null);
            LOG.infof("Kafka: serving %s as %s in group %s (replies to %s, cancel via %s, dead letters to %s; at most %d in flight; "
                    + "priorities %s)", k.requestTopic(), replica, k.groupId(), replyTopics, k.cancelTopic(), k.deadLetterTopic(),
                    k.maxInFlight(), k.priorityRange().map(r -> "in " + r).orElse("not chosen by requests (qwen.kafka.priority-range)"));
        }
    }

    /** Creates the missing topics, retrying while the broker is unreachable. */
    private void createTopics(QwenConfig.Kafka k) {
        Optional<Short> rf = k.replicationFactor();
        List<NewTopic> topics = List.of(new NewTopic(k.requestTopic(), Optional.of(k.requestPartitions()), rf),
                new NewTopic(k.replyTopic(), Optional.of(k.replyPartitions()), rf), new NewTopic(k.cancelTopic(), Optional.of(1), rf),
                new NewTopic(k.deadLetterTopic(), Optional.of(1), rf));
        while (state == State.STARTING) {
            try {
                Set<String> existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
                List<NewTopic> missing = topics.stream().filter(t -> !existing.contains(t.name())).toList();
                for (var created : admin.createTopics(missing).values().entrySet()) {
                    try {
                        created.getValue().get(10, TimeUnit.SECONDS);
                        LOG.infof("Kafka: created topic %s", created.getKey());
                    } catch (ExecutionException e) {
                        if (!(e.getCause() instanceof TopicExistsException)) {
                            throw e;
                        }
                    }
                }
                return;
            } catch (Exception e) {
                LOG.warnf("Kafka: cannot create topics yet (%s); retrying", e.toString());
                sleep(2000);
            }
        }
    }

    /** Before the engine drains: dispatch no more requests. */
    void beforeDrain(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownDelayInitiatedEvent event) {
        stopIntake();
    }

    void beforeStop(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent event) {
        stopIntake();
    }

    /** After the engine drained: send what is left, commit, leave the group. */
    void afterStop(@Observes @Priority(Interceptor.Priority.PLATFORM_AFTER) ShutdownEvent event) throws InterruptedException {
        State was;
        synchronized (this) {
            was = state;
            state = state == State.DISABLED ? State.DISABLED : State.STOPPED;
        }
        if (was != State.RUNNING) {
            if (admin != null) {
                admin.close(Duration.ofSeconds(2));
            }
            return;
        }
        replyThread.shutdown();
        replyThread.awaitTermination(5, TimeUnit.SECONDS);
        sender.flush(); // every acknowledgement reaches the poll loop before its last commit
        requests.close();
        requestThread.join(10_000);
        cancels.close();
        cancelThread.join(5_000);
        watch.close();
        watchThread.interrupt();
        sender.close();
        admin.close(Duration.ofSeconds(2));
        metrics.close();
        LOG.info("Kafka: stopped");
    }

    private void stopIntake() {
        RequestConsumer r = requests;
        if (r != null) {
            try {
                r.stopIntake(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Kafka connectivity, from cached state (never waits on the broker). */
    /** Completes once the bridge serves its topics (never when Kafka is disabled or the engine failed to start). */
    public CompletableFuture<Void> whenRunning() {
        return running;
    }

    /** Completes when this replica has read a cancellation of {@code requestId} from the control topic. */
    CompletableFuture<Void> whenCancelRead(String requestId) {
        return whenRunning().thenCompose(ignored -> cancelled.whenCancelled(requestId));
    }

    public Health health() {
        State s = state;
        if (s != State.RUNNING) {
            return new Health(s == State.DISABLED, s, s == State.STARTING ? "waiting for the engine and the topics" : null, 0, 0, false, -1);
        }
        return new Health(watch.up(), s, watch.problem(), requests.assignedPartitions(), inFlight.get(), requests.paused(),
                watch.checkedAgoMillis());
    }

    /**
     * Liveness: every loop runs and turns, and no request partition has been held still for
     * {@code qwen.kafka.stuck-partition-timeout} by a record that cannot be answered nor dead-lettered while the broker
     * answers (a broker outage alone never fails liveness: a restart would not bring the broker back).
     */
    public Liveness liveness() {
        if (state != State.RUNNING) {
            return new Liveness(true, null);
        }
        if (!requestThread.isAlive() || !cancelThread.isAlive()) {
            return new Liveness(false, "a Kafka loop has died (see the log)");
        }
        long now = System.nanoTime();
        long stalled = TimeUnit.NANOSECONDS.toMillis(now - Math.min(requests.heartbeatNanos(), cancels.heartbeatNanos()));
        if (stalled > LOOP_STALL_MS) {
            return new Liveness(false, "a Kafka loop has not turned for " + stalled / 1000 + " s");
        }
        long timeout = config.kafka().stuckPartitionTimeout().toNanos();
        long failing = requests.failingSinceNanos();
        if (failing != Long.MAX_VALUE && now - failing > timeout && watch.upForNanos() > timeout) {
            return new Liveness(false, "a request partition cannot move: a record has failed to be answered or dead-lettered for "
                    + TimeUnit.NANOSECONDS.toSeconds(now - failing) + " s while the broker answers (see the log)");
        }
        return new Liveness(true, null);
    }

    /** The {@code kafka.*} settings between this client's defaults and what it must have. */
    private Map<String, Object> config(Map<String, Object> defaults, Map<String, Object> forced, boolean withGroup) {
        Map<String, Object> c = new HashMap<>(defaults);
        c.putAll(kafkaConfig);
        if (!withGroup) {
            c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        }
        c.putAll(forced);
        return c;
    }

    private Map<String, Object> requestConsumerConfig() {
        return config(Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName()),
                Map.of(ConsumerConfig.GROUP_ID_CONFIG, config.kafka().groupId(), ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                        CommonClientConfigs.CLIENT_ID_CONFIG, replica), true);
    }

    private Map<String, Object> producerConfig() {
        // a send never waits long on the shared reply thread: metadata of reply topics is loaded beforehand (BrokerWatch), and
        // a full buffer (a long broker outage) fails the send, which is redone later
        return config(Map.of(ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.MAX_BLOCK_MS_CONFIG, 1000),
                Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all",
                        CommonClientConfigs.CLIENT_ID_CONFIG, replica + "-replies"), false);
    }

    private static KafkaConsumer<String, byte[]> consumer(Map<String, Object> config) {
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private static String replicaId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "localhost";
        }
        return "qwen-" + host + "-" + ProcessHandle.current().pid();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
