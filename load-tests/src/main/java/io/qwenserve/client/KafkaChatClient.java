package io.qwenserve.client;

import com.google.protobuf.Message;
import io.qwenserve.proto.kafka.KafkaEncoding;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A Kafka client of the service: sends {@code ChatRequest} / {@code GenerateRequest} records to the request topic and
 * yields each request's replies as a {@link ReplyStream}, matched by correlation id, with what a redone request
 * repeats dropped by token index and text offset. One reply thread reads every partition of the reply topic (no consumer group) from where it ended when the
 * client was created, so create the client before sending. Thread-safe.
 */
public final class KafkaChatClient implements AutoCloseable {

    /** Topics and value encoding; the defaults are the service's. */
    public record Options(String requestTopic, String replyTopic, String cancelTopic, KafkaEncoding encoding) {
        public static Options defaults() {
            return new Options("qwen.requests", "qwen.replies", "qwen.cancel", KafkaEncoding.JSON);
        }

        public Options withEncoding(KafkaEncoding e) {
            return new Options(requestTopic, replyTopic, cancelTopic, e);
        }
    }

    /**
     * Per-request headers.
     *
     * @param correlationId null: the request id
     * @param deadline      null: none
     * @param priority      null: the message's own
     */
    public record Send(String correlationId, Instant deadline, Integer priority) {
        public static final Send DEFAULT = new Send(null, null, null);
    }

    private static final Duration TOPIC_WAIT = Duration.ofSeconds(60);

    private final Options options;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> replies;
    private final Map<String, ReplyStream> pending = new ConcurrentHashMap<>();
    private final Thread replyThread;
    private volatile boolean closed;

    public KafkaChatClient(String bootstrap) throws InterruptedException {
        this(bootstrap, Options.defaults());
    }

    public KafkaChatClient(String bootstrap, Options options) throws InterruptedException {
        this(bootstrap, options, Map.of());
    }

    /**
     * @param security more Kafka client settings for both clients, e.g. {@code security.protocol=SASL_SSL},
     *                 {@code sasl.mechanism}, {@code sasl.jaas.config}, {@code ssl.truststore.*}
     */
    public KafkaChatClient(String bootstrap, Options options, Map<String, Object> security) throws InterruptedException {
        this.options = options;
        String id = "qwen-client-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> p = new HashMap<>(security);
        p.putAll(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap, CommonClientConfigs.CLIENT_ID_CONFIG, id,
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.LINGER_MS_CONFIG, 0));
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        Map<String, Object> c = new HashMap<>(security);
        c.putAll(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap, CommonClientConfigs.CLIENT_ID_CONFIG, id + "-replies",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false));
        replies = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = replyPartitions();
        replies.assign(partitions);
        replies.seekToEnd(partitions);
        partitions.forEach(replies::position); // resolve the end now: replies to what we send next come after it
        replyThread = new Thread(this::readReplies, id + "-replies");
        replyThread.setDaemon(true);
        replyThread.start();
    }

    private List<TopicPartition> replyPartitions() throws InterruptedException {
        long deadline = System.nanoTime() + TOPIC_WAIT.toNanos();
        while (true) {
            List<PartitionInfo> info = replies.partitionsFor(options.replyTopic());
            if (info != null && !info.isEmpty()) {
                return info.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("reply topic " + options.replyTopic() + " does not exist (the service creates it)");
            }
            Thread.sleep(200);
        }
    }

    public ReplyStream chat(ChatRequest request) {
        return send(request, Send.DEFAULT);
    }

    public ReplyStream generate(GenerateRequest request) {
        return send(request, Send.DEFAULT);
    }

    /**
     * Sends a {@link ChatRequest} or {@link GenerateRequest}; an empty request id is replaced by a random one (replies
     * are keyed and deduplicated by it).
     */
    public ReplyStream send(Message request, Send send) {
        boolean chat = request instanceof ChatRequest;
        String requestId = chat ? ((ChatRequest) request).getRequestId() : ((GenerateRequest) request).getRequestId();
        if (requestId.isEmpty()) {
            requestId = UUID.randomUUID().toString();
            request = chat ? ((ChatRequest) request).toBuilder().setRequestId(requestId).build()
                    : ((GenerateRequest) request).toBuilder().setRequestId(requestId).build();
        }
        String correlationId = send.correlationId() != null ? send.correlationId() : requestId;
        ReplyStream stream = expect(correlationId);
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(options.requestTopic(), requestId, options.encoding().encode(request));
        header(r, KafkaHeaders.CONTENT_TYPE, options.encoding().contentType());
        header(r, KafkaHeaders.REQUEST_TYPE, chat ? "chat" : "generate");
        header(r, KafkaHeaders.REPLY_TO, options.replyTopic());
        header(r, KafkaHeaders.CORRELATION_ID, correlationId);
        if (send.deadline() != null) {
            header(r, KafkaHeaders.DEADLINE, Long.toString(send.deadline().toEpochMilli()));
        }
        if (send.priority() != null) {
            header(r, KafkaHeaders.PRIORITY, Integer.toString(send.priority()));
        }
        producer.send(r, (md, e) -> {
            if (e != null) {
                pending.remove(correlationId);
                stream.fail(e);
            }
        });
        return stream;
    }

    /**
     * Collects the replies with this correlation id, for a request sent some other way (by kcat, or as raw bytes).
     * Call it before the request is sent.
     */
    public ReplyStream expect(String correlationId) {
        ReplyStream stream = new ReplyStream(correlationId);
        if (pending.putIfAbsent(correlationId, stream) != null) {
            throw new IllegalArgumentException("correlation id " + correlationId + " is already waiting for replies");
        }
        return stream;
    }

    /** Cancels a request through the control topic, on whichever replica runs it; its stream ends CANCELLED. */
    public void cancel(String requestId) {
        producer.send(new ProducerRecord<>(options.cancelTopic(), requestId, requestId.getBytes(StandardCharsets.UTF_8)));
        producer.flush();
    }

    private void readReplies() {
        while (!closed) {
            ConsumerRecords<String, byte[]> records;
            try {
                records = replies.poll(Duration.ofMillis(100));
            } catch (RuntimeException e) { // e.g. the broker refuses us for a while: keep reading once it is back
                System.err.println("reading replies failed: " + e);
                sleep(500);
                continue;
            }
            for (ConsumerRecord<String, byte[]> r : records) {
                String correlationId = header(r, KafkaHeaders.CORRELATION_ID);
                ReplyStream stream = pending.get(correlationId != null ? correlationId : r.key());
                if (stream == null) {
                    continue; // another client's, or a duplicate after the terminal reply
                }
                try {
                    GenerateResponse reply = KafkaEncoding.forContentType(header(r, KafkaHeaders.CONTENT_TYPE))
                            .decode(r.value(), GenerateResponse.newBuilder()).build();
                    if (stream.offer(reply)) {
                        pending.remove(correlationId != null ? correlationId : r.key());
                    }
                } catch (Exception e) {
                    System.err.println("unreadable reply at " + r.topic() + "-" + r.partition() + "@" + r.offset() + ": " + e);
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void header(ProducerRecord<String, byte[]> r, String name, String value) {
        r.headers().add(name, value.getBytes(StandardCharsets.UTF_8));
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        replyThread.join(5000);
        replies.close(Duration.ofSeconds(2));
        producer.close(Duration.ofSeconds(5));
    }
}
