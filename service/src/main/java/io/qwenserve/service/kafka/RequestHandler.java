package io.qwenserve.service.kafka;

import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.SamplingOptions;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.Final;
import io.qwenserve.proto.v1.FinishReason;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.service.api.RequestMapper;
import io.qwenserve.service.api.ResponseMapper;
import io.qwenserve.service.api.ResponseMapper.ApiError;
import io.qwenserve.service.engine.EngineHolder;
import io.qwenserve.service.kafka.Done.Outcome;
import java.time.Instant;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * What a request record becomes, on the poll thread: a generation whose events go out as replies
 * ({@link InFlightRequest}), an answer at once (its deadline has passed), or a rejection. A rejection sends a terminal
 * error reply; one that can never succeed (unreadable value, missing fields, invalid parameters, prompt too long) also
 * puts the record in the dead-letter topic, while a retryable one (queue full, unavailable) is only answered.
 *
 * <p>A request without a seed is seeded from its request id, so that a redo after a failover generates the same
 * tokens and a client's (request id, seq) deduplication joins the two attempts seamlessly.
 */
final class RequestHandler {
    private static final Logger LOG = Logger.getLogger(RequestHandler.class);

    private final EngineHolder holder;
    private final RequestMapper mapper;
    private final ReplySender sender;
    private final CancelRegistry cancels;
    private final Executor replyThread;
    private final String defaultReplyTopic;
    /** Engine request ids are unique per attempt: an abandoned attempt may still be ending when its record comes back. */
    private final AtomicLong attempts = new AtomicLong();

    RequestHandler(EngineHolder holder, RequestMapper mapper, ReplySender sender, CancelRegistry cancels, Executor replyThread,
                   String defaultReplyTopic) {
        this.holder = holder;
        this.mapper = mapper;
        this.sender = sender;
        this.cancels = cancels;
        this.replyThread = replyThread;
        this.defaultReplyTopic = defaultReplyTopic;
    }

    /** Returns the started generation, or null when the record was answered or rejected at once; {@code done} hears how it ended. */
    InFlightRequest handle(ConsumerRecord<String, byte[]> record, Consumer<Done> done) {
        KafkaRequest request = KafkaRequest.read(record, defaultReplyTopic);
        if (request.error() != null) {
            reject(request, request.error(), done);
            return null;
        }
        if (request.deadline() != null && !request.deadline().isAfter(Instant.now())) {
            answer(request, Final.newBuilder().setFinishReason(FinishReason.FINISH_REASON_DEADLINE)
                    .setMessage("the deadline passed before the request started").build(), done);
            return null;
        }
        GenerationStream stream;
        try {
            Engine engine = holder.engine();
            stream = engine.submit(engineRequest(request));
        } catch (RuntimeException e) {
            reject(request, e, done);
            return null;
        }
        InFlightRequest generation = new InFlightRequest(request, stream, sender, replyThread, done);
        holder.streamOpened();
        cancels.register(generation);
        generation.start();
        return generation;
    }

    /** A generation ended (any outcome). */
    void released(InFlightRequest generation) {
        cancels.unregister(generation);
        holder.streamClosed();
    }

    /** Replies that could not be sent: the record goes to the dead-letter topic instead. */
    void replyFailed(KafkaRequest request, Exception failure, Consumer<Done> done) {
        LOG.warnf("replies of request %s to %s failed (%s): dead-lettering it", request.requestId(), request.replyTopic(), failure);
        deadLetter(request, new ApiError("REPLY_FAILED", "replies to topic " + request.replyTopic() + " could not be sent: " + failure,
                true, null), done);
    }

    private GenerationRequest engineRequest(KafkaRequest request) {
        GenerationRequest g = request.message() instanceof ChatRequest c
                ? mapper.chat(c, request.deadline())
                : mapper.generate((GenerateRequest) request.message(), request.deadline());
        SamplingOptions sampling = g.sampling().seed() != null ? g.sampling()
                : g.sampling().toBuilder().seed(seedOf(request.requestId())).build();
        return new GenerationRequest(request.requestId() + "#" + attempts.incrementAndGet(), g.prompt(), sampling,
                request.priority() != null ? request.priority() : g.priority(), g.deadline(), g.adapter());
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

    private void reject(KafkaRequest request, RuntimeException cause, Consumer<Done> done) {
        ApiError error = ApiError.of(cause);
        GenerateResponse reply = ResponseMapper.error(request.requestId(), 0, error);
        if (error.retryable()) {
            sender.reply(request, reply, (md, ex) -> done.accept(new Done(request, ex == null ? Outcome.ANSWERED : Outcome.REPLY_FAILED, null, ex)));
            return;
        }
        sender.reply(request, reply, (md, ex) -> {
            if (ex != null) {
                LOG.warnf("error reply for request %s to %s failed: %s", request.requestId(), request.replyTopic(), ex);
            }
        });
        deadLetter(request, error, done);
    }

    private void deadLetter(KafkaRequest request, ApiError why, Consumer<Done> done) {
        ConsumerRecord<String, byte[]> r = request.record();
        LOG.infof("dead-lettering %s-%d@%d (request %s): %s %s", r.topic(), r.partition(), r.offset(), request.requestId(),
                why.code(), why.message());
        sender.deadLetter(r, why, (md, ex) -> {
            if (ex == null) {
                done.accept(new Done(request, Outcome.DEAD_LETTERED, null, null));
            } else {
                LOG.errorf("could not dead-letter %s-%d@%d (%s): its offset stays uncommitted, and the next owner of the partition redoes it",
                        r.topic(), r.partition(), r.offset(), ex);
            }
        });
    }
}
