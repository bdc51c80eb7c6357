package io.qwenserve.loadtest;

import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.client.ReplyStream;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load over Kafka request/reply: each request is a record on the request topic (protobuf JSON, as any client would
 * send it) and its reply stream is read back from the reply topic by correlation id, duplicates dropped
 * ({@link KafkaChatClient}). TTFT therefore includes the produce, the service's poll, and the reply's way back.
 */
final class KafkaTarget implements LoadTarget {
    /** A request whose replies stop for this long is counted as failed ({@code timeout}). */
    private static final Duration SILENCE = Duration.ofMinutes(5);

    private final KafkaChatClient client;
    private final AtomicInteger duplicates = new AtomicInteger();
    private final AtomicInteger duplicatedRequests = new AtomicInteger();

    KafkaTarget(String bootstrap) {
        try {
            this.client = new KafkaChatClient(bootstrap);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while connecting to Kafka at " + bootstrap, e);
        }
    }

    @Override
    public String name() {
        return "kafka";
    }

    @Override
    public RequestResult send(RequestSpec spec, long clock) {
        TokenRecorder rec = new TokenRecorder(clock);
        SamplingParams sampling = SamplingParams.newBuilder().setMaxTokens(spec.maxTokens()).setTemperature(0).setRepetitionPenalty(1).build();
        ReplyStream replies;
        try {
            if (spec.promptIds() != null) {
                GenerateRequest.Builder g = GenerateRequest.newBuilder().setRequestId(spec.id()).setSampling(sampling);
                for (int id : spec.promptIds()) {
                    g.addPromptTokenIds(id);
                }
                replies = client.generate(g.build());
            } else {
                replies = client.chat(ChatRequest.newBuilder().setRequestId(spec.id())
                        .addMessages(Message.newBuilder().setRole("user").setContent(spec.prompt())).setSampling(sampling).build());
            }
            int total = 0;
            while (replies.hasNext()) {
                GenerateResponse r = replies.poll(SILENCE);
                if (r == null) {
                    return rec.done(spec.id(), 0, "timeout");
                }
                if (r.hasChunk() && r.getChunk().getTokenIdsCount() > 0) {
                    rec.tokens(r.getChunk().getTokenIdsCount());
                } else if (r.hasFinal()) {
                    total = r.getFinal().getUsage().getCompletionTokens();
                    if (r.getFinal().hasTimings() && r.getFinal().getTimings().getTtftMs() > 0) {
                        rec.serverTtft(r.getFinal().getTimings().getTtftMs());
                    }
                } else if (r.hasError()) {
                    return rec.done(spec.id(), 0, r.getError().getCode());
                }
            }
            duplicates.addAndGet(replies.duplicates());
            if (replies.duplicates() > 0) {
                duplicatedRequests.incrementAndGet();
            }
            return rec.done(spec.id(), total, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return rec.done(spec.id(), 0, "interrupted");
        } catch (RuntimeException e) {
            return rec.done(spec.id(), 0, "send_failed");
        }
    }

    /** Reply messages dropped as duplicates (redone requests after a replica failed) so far. */
    int duplicates() {
        return duplicates.get();
    }

    /** Requests that received repeated messages (redone by another replica) and the repeated messages dropped. */
    @Override
    public java.util.Map<String, Number> extraFigures() {
        return java.util.Map.of("requests_duplicated", duplicatedRequests.get(), "duplicate_messages_dropped", duplicates.get());
    }

    @Override
    public void close() throws Exception {
        if (duplicates.get() > 0) {
            System.err.println("kafka: " + duplicates.get() + " duplicate reply messages dropped (requests redone after a failover)");
        }
        client.close();
    }
}
