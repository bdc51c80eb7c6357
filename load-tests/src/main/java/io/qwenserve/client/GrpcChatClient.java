package io.qwenserve.client;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.InferenceServiceGrpc;
import java.net.URI;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/** A small gRPC client of {@code qwen.v1.InferenceService}: streaming chat with an optional API key. */
public final class GrpcChatClient implements AutoCloseable {
    private final ManagedChannel channel;
    private final InferenceServiceGrpc.InferenceServiceBlockingStub stub;

    /** @param target {@code host:port}, {@code http://host:port} or {@code https://host:port} (TLS) */
    public GrpcChatClient(String target, String apiKey) {
        String t = target.contains("://") ? target : "http://" + target;
        URI uri = URI.create(t);
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 8080);
        if ("https".equals(uri.getScheme())) {
            b.useTransportSecurity();
        } else {
            b.usePlaintext();
        }
        channel = b.build();
        InferenceServiceGrpc.InferenceServiceBlockingStub s = InferenceServiceGrpc.newBlockingStub(channel);
        if (apiKey != null && !apiKey.isEmpty()) {
            Metadata md = new Metadata();
            md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
            s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        }
        stub = s;
    }

    /** Streams the responses of one chat request (chunks, then one final or error). */
    public Iterator<GenerateResponse> chat(ChatRequest request) {
        return stub.chat(request);
    }

    public InferenceServiceGrpc.InferenceServiceBlockingStub stub() {
        return stub;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
