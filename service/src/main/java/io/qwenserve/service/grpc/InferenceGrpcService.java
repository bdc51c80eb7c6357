package io.qwenserve.service.grpc;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.qwenserve.engine.LoadedModel;
import io.qwenserve.engine.api.GenerationEvent;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.tokenizer.AllowedSpecial;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.CountTokensRequest;
import io.qwenserve.proto.v1.CountTokensResponse;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.InferenceService;
import io.qwenserve.proto.v1.ListModelsRequest;
import io.qwenserve.proto.v1.ListModelsResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.ModelInfo;
import io.qwenserve.proto.v1.TokenizeRequest;
import io.qwenserve.proto.v1.TokenizeResponse;
import io.qwenserve.service.api.RequestMapper;
import io.qwenserve.service.api.ResponseMapper;
import io.qwenserve.service.api.ResponseMapper.ApiError;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code qwen.v1.InferenceService} over the engine: translation only. A cancelled call or an expired deadline cancels
 * the engine request (freeing its KV blocks at once); the gRPC deadline also becomes the engine deadline. Streams
 * honour the transport's flow control ({@link FlowControl}): they deliver as fast as the client reads, a slow client's
 * chunks wait in its bounded engine stream (merged) rather than in transport buffers, and it never stalls the batch.
 */
@GrpcService
public class InferenceGrpcService implements InferenceService {
    @Inject
    EngineHolder holder;

    @Inject
    RequestMapper mapper;

    @Override
    @Blocking
    public Multi<GenerateResponse> chat(ChatRequest request) {
        return stream(engine -> mapper.chat(request, engine.model().defaults(), deadline()));
    }

    @Override
    @Blocking
    public Multi<GenerateResponse> generate(GenerateRequest request) {
        return stream(engine -> mapper.generate(request, engine.model().defaults(), deadline()));
    }

    private Multi<GenerateResponse> stream(Function<Engine, GenerationRequest> build) {
        GenerationStream stream;
        String id;
        try {
            Engine engine = holder.engine();
            GenerationRequest req = build.apply(engine);
            mapper.checkPromptLength(engine.tokenize(req.prompt()).length);
            stream = engine.submit(req);
            id = req.requestId();
        } catch (RuntimeException e) {
            return Multi.createFrom().failure(status(e));
        }
        ResponseMapper responses = new ResponseMapper(id);
        FlowControl flow = FlowControl.current(); // paced by the transport: a slow reader's messages wait, merged, in the stream
        Flow.Publisher<GenerationEvent> events = flow != null ? new ReadyPacedPublisher(stream, flow, Infrastructure.getDefaultExecutor())
                : stream.publisher(Infrastructure.getDefaultExecutor());
        return Multi.createFrom().publisher(events).map(responses::map)
                .onSubscription().invoke(holder::streamOpened)
                .onTermination().invoke(holder::streamClosed);
    }

    private static Instant deadline() {
        Deadline d = Context.current().getDeadline();
        return d == null ? null : Instant.now().plusNanos(d.timeRemaining(TimeUnit.NANOSECONDS));
    }

    @Override
    @Blocking
    public Uni<TokenizeResponse> tokenize(TokenizeRequest request) {
        try {
            int[] ids = encode(request.getText(), request.getMessagesList(), request.getAllowSpecial());
            TokenizeResponse.Builder b = TokenizeResponse.newBuilder();
            for (int id : ids) {
                b.addTokenIds(id);
            }
            return Uni.createFrom().item(b.build());
        } catch (RuntimeException e) {
            return Uni.createFrom().failure(status(e));
        }
    }

    @Override
    @Blocking
    public Uni<CountTokensResponse> countTokens(CountTokensRequest request) {
        try {
            int n = encode(request.getText(), request.getMessagesList(), false).length;
            return Uni.createFrom().item(CountTokensResponse.newBuilder().setCount(n).build());
        } catch (RuntimeException e) {
            return Uni.createFrom().failure(status(e));
        }
    }

    private int[] encode(String text, List<Message> messages, boolean allowSpecial) {
        LoadedModel m = holder.engine().model();
        if (!messages.isEmpty()) {
            List<ChatMessage> chat = new ArrayList<>();
            for (int i = 0; i < messages.size(); i++) {
                chat.add(RequestMapper.message(messages.get(i), "messages[" + i + "]"));
            }
            return m.chatTemplate().encode(chat);
        }
        return m.tokenizer().encode(text, allowSpecial ? AllowedSpecial.ALL : AllowedSpecial.NONE);
    }

    @Override
    public Uni<ListModelsResponse> listModels(ListModelsRequest request) {
        try {
            Engine e = holder.engine();
            LoadedModel m = e.model();
            return Uni.createFrom().item(ListModelsResponse.newBuilder().addModels(ModelInfo.newBuilder()
                    .setId(m.dir().getFileName().toString()).setArchitecture(m.config().architecture().hfClass())
                    .setMaxModelLen(e.maxModelLen()).setDtype(m.model().precision().cliName())
                    .setDevice(m.model().device().str().getString()).setDemo(holder.demo())).build());
        } catch (RuntimeException ex) {
            return Uni.createFrom().failure(status(ex));
        }
    }

    /** Maps a refusal to its gRPC status; INVALID_ARGUMENT descriptions start with the field name. */
    static Throwable status(RuntimeException e) {
        ApiError err = ApiError.of(e);
        Status s = Status.fromCode(Status.Code.valueOf(err.code()));
        String description = err.field() != null && err.code().equals("INVALID_ARGUMENT") && !err.message().startsWith(err.field())
                ? err.field() + ": " + err.message() : err.message();
        return s.withDescription(description).asRuntimeException();
    }
}
