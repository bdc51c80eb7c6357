package io.qwenserve.service.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The transport's flow control of one gRPC call, for a service method that streams: whether the call can take another
 * message without queueing it in the transport ({@link #isReady()}), and a callback when that turns true again. Quarkus's
 * Mutiny server streams request everything from the service and write as fast as it produces, so a slow reader's
 * messages would pile up in transport buffers; the interceptor puts each call's flow control in its gRPC
 * {@link Context}, where {@link #current()} finds it, and the stream is paced by it ({@link ReadyPacedPublisher}).
 */
public final class FlowControl {
    private static final Context.Key<FlowControl> KEY = Context.key("qwen-flow-control");

    private final ServerCall<?, ?> call;
    private volatile Runnable onReady;

    private FlowControl(ServerCall<?, ?> call) {
        this.call = call;
    }

    /** The flow control of the call being served on this thread, or null outside a gRPC call. */
    public static FlowControl current() {
        return KEY.get();
    }

    public boolean isReady() {
        return call.isReady();
    }

    /** {@code r} runs (on a transport thread) whenever the call becomes ready again. */
    public void onReady(Runnable r) {
        onReady = r;
    }

    private void ready() {
        Runnable r = onReady;
        if (r != null) {
            r.run();
        }
    }

    /** Gives every call its {@link FlowControl}. */
    @GlobalInterceptor
    @ApplicationScoped
    public static class Interceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            FlowControl flow = new FlowControl(call);
            ServerCall.Listener<Q> listener = Contexts.interceptCall(Context.current().withValue(KEY, flow), call, headers, next);
            return new SimpleForwardingServerCallListener<>(listener) {
                @Override
                public void onReady() {
                    flow.ready();
                    super.onReady();
                }
            };
        }
    }
}
