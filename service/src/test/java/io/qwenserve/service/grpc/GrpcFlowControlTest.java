package io.qwenserve.service.grpc;

import static org.junit.jupiter.api.Assertions.*;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.InferenceServiceGrpc;
import io.qwenserve.service.GrpcTestClient;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC server streams honour flow control: a client that reads one chunk per second holds back only its own stream.
 * The server writes no more than the client's window; the rest of the answer waits in the request's bounded engine
 * stream, merged into fewer, larger chunks, while another stream runs at its usual speed.
 */
@QuarkusTest
class GrpcFlowControlTest {
    private static final int LONG = 400;
    private static final int SHORT = 60;

    @Inject
    EngineHolder holder;

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    /** A stream read one message at a time, when told to. */
    static final class PacedReader implements ClientResponseObserver<ChatRequest, GenerateResponse> {
        final List<GenerateResponse> received = new ArrayList<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final CompletableFuture<Void> first = new CompletableFuture<>();
        volatile ClientCallStreamObserver<ChatRequest> call;

        @Override
        public void beforeStart(ClientCallStreamObserver<ChatRequest> c) {
            call = c;
            c.disableAutoRequestWithInitial(1);
        }

        @Override
        public synchronized void onNext(GenerateResponse r) {
            received.add(r);
            first.complete(null);
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            done.complete(null);
        }

        synchronized int count() {
            return received.size();
        }
    }

    private static ChatRequest chat(String id, int tokens) {
        return GrpcTestClient.chat(id, "tell me a long story", tokens);
    }

    /** Tokens per second of a short stream read as fast as it comes. */
    private static double shortStreamSpeed(GrpcTestClient client, String id) {
        long t0 = System.nanoTime();
        List<GenerateResponse> rs = GrpcTestClient.collect(client.blocking().chat(chat(id, SHORT)));
        return GrpcTestClient.ids(rs).size() / ((System.nanoTime() - t0) / 1e9);
    }

    @Test
    void aReaderOfOneChunkPerSecondHoldsBackOnlyItsOwnStream() throws Exception {
        ManagedChannel narrow = NettyChannelBuilder.forAddress("localhost", GrpcTestClient.port()).usePlaintext()
                .flowControlWindow(4096).build(); // a 4 KiB window: about 80 chunk messages
        ScheduledExecutorService pace = Executors.newSingleThreadScheduledExecutor();
        try (GrpcTestClient client = new GrpcTestClient()) {
            // baseline, same run: a short stream next to a long one whose reader keeps up
            PacedReader keepsUp = new PacedReader();
            InferenceServiceGrpc.newStub(narrow).chat(chat("keeps-up", LONG), keepsUp);
            keepsUp.call.request(Integer.MAX_VALUE);
            keepsUp.first.get(60, TimeUnit.SECONDS);
            double baseline = shortStreamSpeed(client, "short-baseline");
            keepsUp.done.get(120, TimeUnit.SECONDS);

            // the same next to a long stream read one chunk per second
            PacedReader slow = new PacedReader();
            InferenceServiceGrpc.newStub(narrow).chat(chat("slow-reader", LONG), slow);
            pace.scheduleAtFixedRate(() -> slow.call.request(1), 1, 1, TimeUnit.SECONDS);
            slow.first.get(60, TimeUnit.SECONDS);
            double besideSlow = shortStreamSpeed(client, "short-beside-slow");
            assertFalse(slow.done.isDone(), "the short stream finished while the slow reader was still reading");
            holder.engine().awaitStats(st -> st.running() == 0, Duration.ofSeconds(120)); // the slow reader's request ended
            int readSlowly = slow.count();
            pace.shutdownNow();
            slow.call.request(Integer.MAX_VALUE);
            slow.done.get(60, TimeUnit.SECONDS);

            List<GenerateResponse> all = slow.received;
            GenerateResponse last = all.get(all.size() - 1);
            int tokens = last.getFinal().getUsage().getCompletionTokens();
            int chunks = all.size() - 1;
            System.out.printf("RELIABILITY-GRPC slow reader: %d tokens in %d messages (%d read at one per second while the engine "
                    + "generated); keeps-up reader: %d messages; short stream %.1f tok/s beside the slow reader vs %.1f tok/s beside "
                    + "one that keeps up (ratio %.2f)%n", tokens, all.size(), readSlowly, keepsUp.received.size(), besideSlow, baseline,
                    besideSlow / baseline);
            assertTrue(chunks < tokens / 2, "a slow reader's chunks wait merged in its stream, not one message per token in transport "
                    + "buffers: " + chunks + " chunk messages for " + tokens + " tokens");
            int next = 0;
            for (GenerateResponse r : all.subList(0, chunks)) {
                assertEquals(next, r.getChunk().getFirstTokenIndex(), "chunks cover the tokens in order, none lost");
                next += r.getChunk().getTokenIdsCount();
            }
            assertEquals(tokens, next);
        } finally {
            pace.shutdownNow();
            narrow.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
