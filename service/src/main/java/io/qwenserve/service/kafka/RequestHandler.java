package io.qwenserve.service.kafka;

import io.qwenserve.engine.api.EngineRejectedException;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.proto.kafka.KafkaHeaders;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.Final;
import io.qwenserve.proto.v1.FinishReason;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.api.RequestMapper;
import io.qwenserve.service.api.ResponseMapper;
import io.qwenserve.service.api.ResponseMapper.ApiError;
import io.qwenserve.service.engine.EngineHolder;
import io.qwenserve.service.kafka.BrokerWatch.TopicState;
import io.qwenserve.service.kafka.Done.Outcome;
import io.qwenserve.service.security.PriorityRange;
import java.time.Instant;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * What a request record becomes, on the poll thread: a generation whose events go out as replies
 * ({@link InFlightRequest}), an answer at once (its deadline has passed), a refusal, or nothing yet.
 *
 * <p>Kafka is the buffer: a request this replica cannot take now (the engine's queue is full, the engine is not
 * accepting, its reply topic is not checked yet) is {@link Handling.Deferred}: no reply, no commit; the poll loop
 * seeks back to it and tries again later while the lag grows. A request that can never succeed (unreadable value,
 * missing fields, invalid parameters, a prompt too long, a reply topic that is not allowed or does not exist) gets a
 * terminal error reply and goes to the dead-letter topic.
 *
 * <p>A request without a seed is seeded from its request id, so that a redo after a failover generates the same
 * tokens and a client's de-duplication by token index joins the two attempts seamlessly.
 */
final class RequestHandler {
    private static final Logger LOG = Logger.getLogger(RequestHandler.class);

    /** What became of a record. */
    sealed interface Handling {
        /** It generates; it ends through a {@link Done} with this generation. */
        record Started(InFlightRequest generation) implements Handling {}

        /** It is answered or refused; a {@link Done} follows once the broker acknowledged that. */
        record Answering() implements Handling {}

        /** Not now: read it again later. {@code reason} is a metric label. */
        record Deferred(String reason) implements Handling {}
    }

    private static final Handling ANSWERING = new Handling.Answering();

    private final EngineHolder holder;
    private final RequestMapper mapper;
    private final ReplySender sender;
    private final CancelRegistry cancels;
    private final Executor replyThread;
    private final String defaultReplyTopic;
    private final BrokerWatch watch;
    private final PriorityRange priorities;
    /** Engine request ids are unique per attempt: an abandoned attempt may still be ending when its record comes back. */
    private final AtomicLong attempts = new AtomicLong();

    /** @param priorities what Kafka requests may ask for; null: they all run at the default priority */
    RequestHandler(EngineHolder holder, RequestMapper mapper, ReplySender sender, CancelRegistry cancels, Executor replyThread,
                   String defaultReplyTopic, BrokerWatch watch, PriorityRange priorities) {
        this.holder = holder;
        this.mapper = mapper;
        this.sender = sender;
        this.cancels = cancels;
        this.replyThread = replyThread;
        this.defaultReplyTopic = defaultReplyTopic;
        this.watch = watch;
        this.priorities = priorities;
    }

    /** Whether the engine takes requests now (loaded, not draining, not failed). */
    boolean engineAccepting() {
        try {
            return holder.state() == EngineHolder.State.READY && holder.engine().accepting();
        } catch (RuntimeException e) {
            return false; // draining meanwhile
        }
    }

    /** Whether failing steps marked the engine failed: it will not serve again, other replicas must. */
    boolean engineFailed() {
        try {
            return holder.state() == EngineHolder.State.READY && holder.engine().failed();
        } catch (RuntimeException e) {
            return false; // draining meanwhile
        }
    }

    /** Whether the engine's waiting queue has room now (from its last step's snapshot). */
    boolean engineHasRoom() {
        try {
            Engine e = holder.engine();
            return e.accepting() && e.stats().waiting() < e.config().queueSize();
        } catch (RuntimeException notServing) {
            return false;
        }
    }

    /** {@code done} hears how the record ended, unless it is deferred. */
    Handling handle(ConsumerRecord<String, byte[]> record, Consumer<Done> done) {
        KafkaRequest request = KafkaRequest.read(record, defaultReplyTopic);
        TopicState replyTo = watch.replyTopic(request.replyTopic());
        if (replyTo == TopicState.UNKNOWN || (replyTo != TopicState.READY && watch.replyTopic(defaultReplyTopic) != TopicState.READY)) {
            return new Handling.Deferred("reply_topic_unknown");
        }
        if (replyTo == TopicState.NOT_ALLOWED) {
            reject(request.replyingTo(defaultReplyTopic), new ApiError("PERMISSION_DENIED", "reply-to topic " + request.replyTopic()
                    + " is not an allowed reply topic (qwen.kafka.reply-topics)", false, KafkaHeaders.REPLY_TO), done);
            return ANSWERING;
        }
        if (replyTo == TopicState.MISSING) {
            reject(request.replyingTo(defaultReplyTopic), new ApiError("NOT_FOUND", "reply-to topic " + request.replyTopic()
                    + " does not exist", false, KafkaHeaders.REPLY_TO), done);
            return ANSWERING;
        }
        if (request.error() != null) {
            reject(request, ApiError.of(request.error()), done);
            return ANSWERING;
        }
        if (request.deadline() != null && !request.deadline().isAfter(Instant.now())) {
            answer(request, Final.newBuilder().setFinishReason(FinishReason.FINISH_REASON_DEADLINE)
                    .setMessage("the deadline passed before the request started").build(), done);
            return ANSWERING;
        }
        GenerationStream stream;
        try {
            Engine engine = holder.engine();
            stream = engine.submit(engineRequest(request));
        } catch (EngineRejectedException e) {
            if (e.retryable()) {
                return new Handling.Deferred(e.reason().name().toLowerCase());
            }
            reject(request, ApiError.of(e), done);
            return ANSWERING;
        } catch (RuntimeException e) {
            reject(request, ApiError.of(e), done);
            return ANSWERING;
        }
        InFlightRequest generation = new InFlightRequest(request, stream, sender, replyThread, done, this::engineFailed);
        holder.streamOpened();
        cancels.register(generation);
        generation.start();
        return new Handling.Started(generation);
    }

    /** A generation ended (any outcome). */
    void released(InFlightRequest generation) {
        cancels.unregister(generation);
        holder.streamClosed();
    }

    /** Replies that can never be sent (a failure that will not pass): the record goes to the dead-letter topic instead. */
    void replyFailed(KafkaRequest request, Exception failure, Consumer<Done> done) {
        LOG.warnf("replies of request %s to %s failed (%s): dead-lettering it", request.requestId(), request.replyTopic(), failure);
        deadLetter(request, new ApiError("REPLY_FAILED", "replies to topic " + request.replyTopic() + " could not be sent: " + failure,
                false, null), done);
    }

    private GenerationRequest engineRequest(KafkaRequest request) {
        GenerationRequest g = request.message() instanceof ChatRequest c
                ? mapper.chat(c, request.deadline())
                : mapper.generate((GenerateRequest) request.message(), request.deadline());
        SamplingOptions sampling = g.sampling().seed() != null ? g.sampling()
                : g.sampling().toBuilder().seed(seedOf(request.requestId())).build();
        int priority = PriorityRange.apply(priorities, request.priority() != null ? request.priority() : g.priority());
        return new GenerationRequest(request.requestId() + "#" + attempts.incrementAndGet(), g.prompt(), sampling, priority,
                g.deadline(), g.adapter());
    }

    private static long seedOf(String requestId) {
        long h = 1125899906842597L;
        for (int i = 0; i < requestId.length(); i++) {
            h = 31 * h + requestId.charAt(i);
        }
        return h;
    }

    private void answer(KafkaRequest request, Final terminal, Consumer<Done> done) {
        GenerateResponse reply = GenerateResponse.newBuilder().setRequestId(request.requestId()).setFinal(terminal).build();
        sender.reply(request, reply, (md, ex) -> done.accept(new Done(request, ex == null ? Outcome.ANSWERED : Outcome.REPLY_FAILED, null, ex)));
    }

    /** A request that can never succeed: an error reply (best effort) and a dead letter. */
    private void reject(KafkaRequest request, ApiError error, Consumer<Done> done) {
        sender.reply(request, ResponseMapper.error(request.requestId(), 0, error), (md, ex) -> {
            if (ex != null) {
                LOG.warnf("error reply for request %s to %s failed: %s", request.requestId(), request.replyTopic(), ex);
            }
        });
        deadLetter(request, error, done);
    }

    /** Sends the record to the dead-letter topic; a failure is reported (DEAD_LETTER_FAILED) and sent again later. */
    void deadLetter(KafkaRequest request, ApiError why, Consumer<Done> done) {
        ConsumerRecord<String, byte[]> r = request.record();
        LOG.debugf("dead-lettering %s-%d@%d (request %s): %s %s", r.topic(), r.partition(), r.offset(), request.requestId(),
                why.code(), why.message());
        sender.deadLetter(r, why, (md, ex) -> done.accept(ex == null ? new Done(request, Outcome.DEAD_LETTERED, null, null)
                : new Done(request, Outcome.DEAD_LETTER_FAILED, null, ex, why)));
    }
}
