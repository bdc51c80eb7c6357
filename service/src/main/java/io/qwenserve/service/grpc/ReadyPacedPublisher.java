package io.qwenserve.service.grpc;

import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationStream;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A request's events for one gRPC subscriber, delivered only while the subscriber wants more <em>and</em> the call's
 * transport can take them ({@link FlowControl#isReady()}). While a slow reader's window is full nothing is written:
 * the events wait in the {@link GenerationStream}, whose bounded buffer merges chunks, so neither the engine nor the
 * transport holds more than the request's own output. Delivery resumes on demand, on new events and when the call
 * becomes ready; it runs on {@code executor}, one drain at a time. Cancelling the subscription cancels the request.
 */
final class ReadyPacedPublisher implements Flow.Publisher<GenerationEvent> {
    private final GenerationStream stream;
    private final FlowControl flow;
    private final Executor executor;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    ReadyPacedPublisher(GenerationStream stream, FlowControl flow, Executor executor) {
        this.stream = stream;
        this.flow = flow;
        this.executor = executor;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super GenerationEvent> subscriber) {
        if (!subscribed.compareAndSet(false, true)) {
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            subscriber.onError(new IllegalStateException("one subscriber only"));
            return;
        }
        AtomicLong demand = new AtomicLong();
        AtomicInteger wip = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        Runnable deliver = () -> {
            int missed = 1;
            while (true) {
                while (!done.get() && demand.get() > 0 && flow.isReady()) {
                    GenerationEvent e = stream.tryNext();
                    if (e == null) {
                        break;
                    }
                    demand.decrementAndGet();
                    subscriber.onNext(e);
                    if (e instanceof GenerationEvent.Final) {
                        done.set(true);
                        subscriber.onComplete();
                    }
                }
                missed = wip.addAndGet(-missed);
                if (missed == 0) {
                    return;
                }
            }
        };
        Runnable drain = () -> {
            if (wip.getAndIncrement() == 0) {
                executor.execute(deliver);
            }
        };
        subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
                if (n > 0) {
                    demand.accumulateAndGet(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
                    drain.run();
                }
            }

            @Override
            public void cancel() {
                done.set(true);
                stream.cancel();
            }
        });
        flow.onReady(drain);
        stream.onAvailable(drain);
    }
}
