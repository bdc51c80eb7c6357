package io.qwenserve.service.kafka;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.jboss.logging.Logger;

/**
 * Checks the broker and the allowed reply topics on its own thread, so that health checks, metrics and the request
 * path read cached answers and never wait on the network. Every {@link #PERIOD_MS} it asks the broker for its
 * cluster id; every {@link #TOPICS_PERIOD_MS} (and at once after the broker comes back) it asks which allowed reply
 * topics exist and loads their metadata into the producer, so that a reply to an allowed topic never waits for
 * metadata on the shared reply thread.
 */
final class BrokerWatch implements Runnable {
    private static final Logger LOG = Logger.getLogger(BrokerWatch.class);
    static final long PERIOD_MS = 2000;
    static final long TOPICS_PERIOD_MS = 30_000;
    private static final long TIMEOUT_MS = 3000;

    /** What is known about a reply topic. */
    enum TopicState {
        /** Allowed, exists, and the producer has its metadata. */
        READY,
        /** Allowed, and the broker says it does not exist. */
        MISSING,
        /** Allowed, not checked yet (or the broker has not answered since start). */
        UNKNOWN,
        /** Not among the allowed reply topics. */
        NOT_ALLOWED
    }

    private final Admin admin;
    private final Producer<?, ?> producer;
    private final Map<String, TopicState> topics = new ConcurrentHashMap<>();
    private volatile boolean up;
    private volatile long upSinceNanos;
    private volatile long checkedAtNanos;
    private volatile String problem = "not checked yet";
    private volatile boolean closing;
    private long topicsCheckedAtNanos;

    /** @param allowedTopics the reply topics requests may name (the default one included) */
    BrokerWatch(Admin admin, Producer<?, ?> producer, Set<String> allowedTopics) {
        this.admin = admin;
        this.producer = producer;
        allowedTopics.forEach(t -> topics.put(t, TopicState.UNKNOWN));
    }

    /** Runs one check now, on the caller's thread (start-up, before requests are read). */
    void checkNow() {
        checkBroker();
        if (up) {
            checkTopics();
        }
    }

    @Override
    public void run() {
        while (!closing) {
            try {
                boolean wasUp = up;
                checkBroker();
                if (up && (!wasUp || System.nanoTime() - topicsCheckedAtNanos > TimeUnit.MILLISECONDS.toNanos(TOPICS_PERIOD_MS))) {
                    checkTopics();
                }
            } catch (Throwable t) {
                LOG.warnf("Kafka broker check failed: %s", t.toString());
            }
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void close() {
        closing = true;
    }

    private void checkBroker() {
        boolean was = up;
        try {
            admin.describeCluster().clusterId().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            if (!was) {
                upSinceNanos = System.nanoTime();
            }
            up = true;
            problem = null;
        } catch (Exception e) {
            up = false;
            problem = "broker unreachable: " + (e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e);
        }
        checkedAtNanos = System.nanoTime();
        if (was != up) {
            if (up) {
                LOG.info("Kafka: the broker answers");
            } else {
                LOG.warnf("Kafka: %s (HTTP and gRPC keep serving; Kafka requests wait in their topic)", problem);
            }
        }
    }

    private void checkTopics() {
        topicsCheckedAtNanos = System.nanoTime();
        var described = admin.describeTopics(topics.keySet()).topicNameValues();
        for (var e : described.entrySet()) {
            String topic = e.getKey();
            try {
                TopicDescription d = e.getValue().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                if (topics.get(topic) != TopicState.READY) {
                    producer.partitionsFor(d.name()); // the metadata is at hand now: no send to it waits for it
                    topics.put(topic, TopicState.READY);
                }
            } catch (ExecutionException ex) {
                if (ex.getCause() instanceof UnknownTopicOrPartitionException) {
                    if (topics.put(topic, TopicState.MISSING) != TopicState.MISSING) {
                        LOG.warnf("Kafka: reply topic %s is allowed (qwen.kafka.reply-topics) but does not exist: requests naming it "
                                + "are refused", topic);
                    }
                }
            } catch (Exception ex) {
                LOG.debugf("Kafka: reply topic %s not checked: %s", topic, ex.toString());
            }
        }
    }

    /** What a request may expect of a reply topic. */
    TopicState replyTopic(String topic) {
        return topics.getOrDefault(topic, TopicState.NOT_ALLOWED);
    }

    boolean up() {
        return up;
    }

    /** How long the broker has answered without a break (0 when it does not answer now). */
    long upForNanos() {
        return up ? System.nanoTime() - upSinceNanos : 0;
    }

    /** Why the broker is not up, or null. */
    String problem() {
        return problem;
    }

    long checkedAgoMillis() {
        return checkedAtNanos == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - checkedAtNanos);
    }
}
