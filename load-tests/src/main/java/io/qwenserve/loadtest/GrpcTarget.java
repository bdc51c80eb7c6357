package io.qwenserve.loadtest;

import io.grpc.StatusRuntimeException;
import io.qwenserve.client.GrpcChatClient;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import java.util.Iterator;

/** Load over gRPC streaming ({@code qwen.v1.InferenceService/Chat}). */
final class GrpcTarget implements LoadTarget {
    private final GrpcChatClient client;

    GrpcTarget(String url, String apiKey) {
        this.client = new GrpcChatClient(url, apiKey);
    }

    @Override
    public String name() {
        return "grpc";
    }

    @Override
    public RequestResult send(RequestSpec spec, long clock) {
        TokenRecorder rec = new TokenRecorder(clock);
        SamplingParams sampling = SamplingParams.newBuilder().setMaxTokens(spec.maxTokens()).setTemperature(0).setRepetitionPenalty(1).build();
        try {
            int total = 0;
            Iterator<GenerateResponse> responses;
            if (spec.promptIds() != null) {
                GenerateRequest.Builder g = GenerateRequest.newBuilder().setRequestId(spec.id()).setSampling(sampling);
                for (int id : spec.promptIds()) {
                    g.addPromptTokenIds(id);
                }
                responses = client.stub().generate(g.build());
            } else {
                responses = client.chat(ChatRequest.newBuilder().setRequestId(spec.id())
                        .addMessages(Message.newBuilder().setRole("user").setContent(spec.prompt())).setSampling(sampling).build());
            }
            for (Iterator<GenerateResponse> it = responses; it.hasNext(); ) {
                GenerateResponse r = it.next();
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
            return rec.done(spec.id(), total, null);
        } catch (StatusRuntimeException e) {
            return rec.done(spec.id(), 0, e.getStatus().getCode().name());
        }
    }

    @Override
    public void close() throws Exception {
        client.close();
    }
}
