package io.qwenserve.service.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationStream;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Sends one generation's events down a gRPC server stream as fast as the client reads, and no faster: the next event
 * is taken from the {@link GenerationStream} only while the call is ready (gRPC flow control). Whatever the engine
 * produces meanwhile stays in the generation's own bounded buffer, where chunks merge, so a slow reader costs memory
 * bounded by its own output and never stalls the batch. A cancelled call (client gone, deadline) cancels the request.
 */
final class FlowControlledStream<T> implements Flow.Subscriber<GenerationEvent> {
    private final ServerCallStreamObserver<T> out;
    private final Function<GenerationEvent, T> map;
    private final Runnable onEnd;
    private final AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();
    /** One event asked for but not sent because the call was not ready; whoever clears it asks for the next. */
    private final AtomicBoolean waitingForReady = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();

    private FlowControlledStream(ServerCallStreamObserver<T> out, Function<GenerationEvent, T> map, Runnable onEnd) {
        this.out = out;
        this.map = map;
        this.onEnd = onEnd;
    }

    /** Starts streaming; must run on the call's own thread (it installs the call's handlers). */
    static <T> void start(GenerationStream stream, ServerCallStreamObserver<T> out, Function<GenerationEvent, T> map,
                          Executor executor, Runnable onEnd) {
        FlowControlledStream<T> s = new FlowControlledStream<>(out, map, onEnd);
        out.setOnCancelHandler(s::cancelled);
        out.setOnReadyHandler(s::ready);
        stream.publisher(executor).subscribe(s);
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription.set(s);
        s.request(1);
    }

    @Override
    public void onNext(GenerationEvent event) {
        if (ended.get()) {
            return;
        }
        out.onNext(map.apply(event));
        if (event instanceof GenerationEvent.Final) {
            return;
        }
        waitingForReady.set(true);
        if (out.isReady()) {
            ready();
        }
    }

    private void ready() {
        if (waitingForReady.compareAndSet(true, false)) {
            subscription.get().request(1);
        }
    }

    @Override
    public void onError(Throwable t) {
        if (ended.compareAndSet(false, true)) {
            out.onError(t);
            onEnd.run();
        }
    }

    @Override
    public void onComplete() {
        if (ended.compareAndSet(false, true)) {
            out.onCompleted();
            onEnd.run();
        }
    }

    private void cancelled() {
        if (ended.compareAndSet(false, true)) {
            Flow.Subscription s = subscription.get();
            if (s != null) {
                s.cancel();
            }
            onEnd.run();
        }
    }
}
