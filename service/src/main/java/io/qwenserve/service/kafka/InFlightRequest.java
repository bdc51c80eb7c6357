package io.qwenserve.service.kafka;

import io.qwenserve.engine.api.FinishReason;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.service.api.ResponseMapper;
import io.qwenserve.service.kafka.Done.Outcome;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One request generating on this replica. The engine thread only schedules a read; the reply thread reads the stream
 * as events arrive and sends each one as a reply, so chunks leave as the engine made them (a redo makes the same
 * tokens; clients line the attempts up by token index). Ends exactly once with a {@link Done}: ANSWERED when the terminal reply is acknowledged, REPLY_FAILED
 * when some reply could not be sent (the generation is cancelled at the first failure), HANDED_BACK when this replica
 * gave the request up (its partition was revoked, a shutdown rather than the client cancelled it, or the engine
 * failed): then no terminal reply is sent and the next owner redoes it.
 */
final class InFlightRequest {
    private final KafkaRequest request;
    private final GenerationStream stream;
    private final ResponseMapper responses;
    private final ReplySender sender;
    private final Executor replyThread;
    private final Consumer<Done> done;
    private final BooleanSupplier engineFailed;
    private final AtomicInteger pendingReads = new AtomicInteger();
    private volatile boolean cancelledByClient;
    private volatile boolean abandoned;
    private volatile Exception sendFailure;

    /** @param engineFailed whether the engine has failed (its requests end with ERROR through no fault of their own) */
    InFlightRequest(KafkaRequest request, GenerationStream stream, ReplySender sender, Executor replyThread, Consumer<Done> done,
                    BooleanSupplier engineFailed) {
        this.engineFailed = engineFailed;
        this.request = request;
        this.stream = stream;
        this.responses = new ResponseMapper(request.requestId());
        this.sender = sender;
        this.replyThread = replyThread;
        this.done = done;
    }

    void start() {
        stream.onAvailable(this::scheduleRead);
    }

    String requestId() {
        return request.requestId();
    }

    /** A cancellation from the control topic: the request ends with a CANCELLED terminal reply. */
    void cancelByClient() {
        cancelledByClient = true;
        stream.cancel();
    }

    /** This replica gives the request up: generation stops and no terminal reply is sent. */
    void abandon() {
        abandoned = true;
        stream.cancel();
    }

    /** Engine thread: must not block. */
    private void scheduleRead() {
        if (pendingReads.getAndIncrement() == 0) {
            try {
                replyThread.execute(this::read);
            } catch (RejectedExecutionException shuttingDown) {
                pendingReads.set(0);
            }
        }
    }

    private void read() {
        int missed = 1;
        while (true) {
            for (GenerationEvent e; (e = stream.tryNext()) != null; ) {
                try {
                    send(e);
                } catch (Throwable t) { // the reply thread serves every request: one request's bug ends only that request
                    failed(t instanceof Exception ex ? ex : new IllegalStateException(t));
                    if (e instanceof GenerationEvent.Final) {
                        done.accept(new Done(request, Outcome.REPLY_FAILED, this, sendFailure));
                    }
                }
            }
            missed = pendingReads.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    /** A reply could not be sent: the rest of the generation is useless, stop it (its Final reports the failure). */
    private void failed(Exception e) {
        if (sendFailure == null) {
            sendFailure = e;
            stream.cancel();
        }
    }

    private void send(GenerationEvent e) {
        if (!(e instanceof GenerationEvent.Final f)) {
            if (!abandoned && sendFailure == null) {
                sender.reply(request, responses.map(e), (md, ex) -> {
                    if (ex != null) {
                        failed(ex);
                    }
                });
            }
        } else if (abandoned) {
            end(Outcome.HANDED_BACK);
        } else if (sendFailure != null) {
            end(Outcome.REPLY_FAILED);
        } else if (f.reason() == FinishReason.CANCELLED && !cancelledByClient) {
            end(Outcome.HANDED_BACK); // the server shuts down
        } else if (f.reason() == FinishReason.ERROR && engineFailed.getAsBoolean()) {
            end(Outcome.HANDED_BACK); // this replica's engine failed: another replica redoes it
        } else {
            // callbacks of one partition run in send order: a failed chunk is known by now
            sender.reply(request, responses.map(e), (md, ex) -> {
                Exception failure = ex != null ? ex : sendFailure;
                done.accept(new Done(request, failure == null ? Outcome.ANSWERED : Outcome.REPLY_FAILED, this, failure));
            });
        }
    }

    private void end(Outcome outcome) {
        done.accept(new Done(request, outcome, this, outcome == Outcome.REPLY_FAILED ? sendFailure : null));
    }
}
