package io.qwenserve.service;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.InferenceServiceGrpc;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;

/** A plain grpc-java client over a real socket to the service under test. */
public final class GrpcTestClient implements AutoCloseable {
    public final ManagedChannel channel;

    public GrpcTestClient() {
        this(port());
    }

    public GrpcTestClient(int port) {
        channel = NettyChannelBuilder.forAddress("localhost", port).usePlaintext().build();
    }

    public static int port() {
        return ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
    }

    public InferenceServiceGrpc.InferenceServiceBlockingStub blocking() {
        return InferenceServiceGrpc.newBlockingStub(channel);
    }

    public InferenceServiceGrpc.InferenceServiceBlockingStub blocking(String apiKey) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
        return blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    public InferenceServiceGrpc.InferenceServiceStub async() {
        return InferenceServiceGrpc.newStub(channel);
    }

    public static ChatRequest chat(String id, String user, int maxTokens) {
        return ChatRequest.newBuilder().setRequestId(id).addMessages(Message.newBuilder().setRole("user").setContent(user))
                .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(maxTokens)).build();
    }

    public static List<GenerateResponse> collect(Iterator<GenerateResponse> it) {
        List<GenerateResponse> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        return all;
    }

    /** Generated ids of a response stream. */
    public static List<Integer> ids(List<GenerateResponse> responses) {
        List<Integer> ids = new ArrayList<>();
        for (GenerateResponse r : responses) {
            if (r.hasChunk()) {
                ids.addAll(r.getChunk().getTokenIdsList());
            }
        }
        return ids;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
