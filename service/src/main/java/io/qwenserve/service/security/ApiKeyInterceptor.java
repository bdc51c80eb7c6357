package io.qwenserve.service.security;

import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.qwenserve.engine.sample.InvalidParameterException;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Requires {@code authorization: Bearer <key>} on every gRPC call except health checks (when keys are configured), and
 * decides each request's priority: a key with a priority range ({@code qwen.api-key-priorities}) may ask for one inside
 * it (outside: INVALID_ARGUMENT), any other caller's request runs at the default priority.
 */
@GlobalInterceptor
@ApplicationScoped
public class ApiKeyInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    ApiKeys keys;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String service = call.getMethodDescriptor().getServiceName();
        boolean open = service != null && service.startsWith("grpc.health.");
        String authorization = headers.get(AUTHORIZATION);
        if (!open && !keys.authorized(authorization)) {
            call.close(Status.UNAUTHENTICATED.withDescription("missing or invalid API key (authorization: Bearer <key>)"), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        PriorityRange range = keys.priorityRange(authorization);
        return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                if (refused) {
                    return;
                }
                try {
                    super.onMessage(withPriority(message, range));
                } catch (InvalidParameterException e) {
                    refused = true;
                    call.close(Status.INVALID_ARGUMENT.withDescription(e.getMessage()), new Metadata()); // "priority must be ..."
                }
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }

            @Override
            public void onReady() {
                if (!refused) {
                    super.onReady();
                }
            }
        };
    }

    /** The request with the priority it may run at (the message itself when unchanged). */
    @SuppressWarnings("unchecked")
    static <Q> Q withPriority(Q message, PriorityRange range) {
        if (message instanceof ChatRequest c) {
            int p = PriorityRange.apply(range, c.getPriority());
            return p == c.getPriority() ? message : (Q) c.toBuilder().setPriority(p).build();
        }
        if (message instanceof GenerateRequest g) {
            int p = PriorityRange.apply(range, g.getPriority());
            return p == g.getPriority() ? message : (Q) g.toBuilder().setPriority(p).build();
        }
        return message;
    }
}
