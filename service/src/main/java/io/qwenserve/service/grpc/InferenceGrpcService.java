package io.qwenserve.service.grpc;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.api.GenerationStream;
import io.qwenserve.engine.api.ModelInfo;
import io.qwenserve.engine.api.Prompt;
import io.qwenserve.engine.chat.ChatMessage;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.engine.tokenizer.AllowedSpecial;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.CountTokensRequest;
import io.qwenserve.proto.v1.CountTokensResponse;
import io.qwenserve.proto.v1.GenerateRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.InferenceServiceGrpc;
import io.qwenserve.proto.v1.ListModelsRequest;
import io.qwenserve.proto.v1.ListModelsResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.TokenizeRequest;
import io.qwenserve.proto.v1.TokenizeResponse;
import io.qwenserve.service.api.RequestMapper;
import io.qwenserve.service.api.ResponseMapper;
import io.qwenserve.service.api.ResponseMapper.ApiError;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code qwen.v1.InferenceService} over the engine: translation only, on the plain grpc-java stubs of the API jar. A
 * cancelled call or an expired deadline cancels the engine request (freeing its KV blocks at once); the gRPC deadline
 * also becomes the engine deadline. Streams honour gRPC flow control ({@link FlowControlledStream}): a slow reader
 * gets merged chunks and never stalls the batch, and its unsent replies never pile up in transport buffers.
 */
@GrpcService
public class InferenceGrpcService extends InferenceServiceGrpc.InferenceServiceImplBase {
    @Inject
    EngineHolder holder;

    @Inject
    RequestMapper mapper;

    @Override
    @Blocking
    public void chat(ChatRequest request, StreamObserver<GenerateResponse> out) {
        stream(() -> mapper.chat(request, deadline()), out);
    }

    @Override
    @Blocking
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> out) {
        stream(() -> mapper.generate(request, deadline()), out);
    }

    private void stream(Supplier<GenerationRequest> build, StreamObserver<GenerateResponse> out) {
        GenerationStream stream;
        try {
            stream = holder.engine().submit(build.get());
        } catch (RuntimeException e) {
            out.onError(status(e));
            return;
        }
        holder.streamOpened();
        FlowControlledStream.start(stream, (ServerCallStreamObserver<GenerateResponse>) out,
                new ResponseMapper(stream.requestId())::map, Infrastructure.getDefaultExecutor(), holder::streamClosed);
    }

    private static Instant deadline() {
        Deadline d = Context.current().getDeadline();
        return d == null ? null : Instant.now().plusNanos(d.timeRemaining(TimeUnit.NANOSECONDS));
    }

    @Override
    @Blocking
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> out) {
        unary(out, () -> {
            int[] ids = encode(request.getText(), request.getMessagesList(), request.getAllowSpecial() ? AllowedSpecial.ALL : AllowedSpecial.NONE);
            TokenizeResponse.Builder b = TokenizeResponse.newBuilder();
            for (int id : ids) {
                b.addTokenIds(id);
            }
            return b.build();
        });
    }

    @Override
    @Blocking
    public void countTokens(CountTokensRequest request, StreamObserver<CountTokensResponse> out) {
        unary(out, () -> CountTokensResponse.newBuilder().setCount(encode(request.getText(), request.getMessagesList(), null).length).build());
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> out) {
        unary(out, () -> {
            Engine engine = holder.engine();
            ModelInfo m = engine.modelInfo();
            ListModelsResponse.Builder b = ListModelsResponse.newBuilder().addModels(io.qwenserve.proto.v1.ModelInfo.newBuilder()
                    .setId(m.name()).setArchitecture(m.architecture()).setMaxModelLen(m.maxModelLen()).setDtype(m.dtype())
                    .setDevice(m.device()).setDemo(holder.demo()));
            for (io.qwenserve.engine.api.AdapterInfo a : engine.adapters()) { // each LoRA adapter, with its base
                b.addModels(io.qwenserve.proto.v1.ModelInfo.newBuilder().setId(a.name()).setBase(m.name())
                        .setArchitecture(m.architecture()).setMaxModelLen(m.maxModelLen()).setDtype(m.dtype())
                        .setDevice(m.device()).setDemo(holder.demo()).setLoraRank(a.rank()));
            }
            return b.build();
        });
    }

    private static <T> void unary(StreamObserver<T> out, Supplier<T> answer) {
        T value;
        try {
            value = answer.get();
        } catch (RuntimeException e) {
            out.onError(status(e));
            return;
        }
        out.onNext(value);
        out.onCompleted();
    }

    /**
     * Messages through the chat template; text with special tokens as asked (Tokenize's allow_special), or, for
     * CountTokens ({@code special} null), exactly as a Generate prompt is tokenized.
     */
    private int[] encode(String text, List<Message> messages, AllowedSpecial special) {
        Engine engine = holder.engine();
        if (!messages.isEmpty()) {
            List<ChatMessage> chat = new ArrayList<>();
            for (int i = 0; i < messages.size(); i++) {
                chat.add(RequestMapper.message(messages.get(i), "messages[" + i + "]"));
            }
            return engine.tokenize(new Prompt.Chat(chat));
        }
        return special == null ? engine.tokenize(new Prompt.Text(text)) : engine.tokenizer().encode(text, special);
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
