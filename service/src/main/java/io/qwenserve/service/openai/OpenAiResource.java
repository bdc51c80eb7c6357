package io.qwenserve.service.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qwenserve.engine.api.AdapterInfo;
import io.qwenserve.engine.api.GenerationRequest;
import io.qwenserve.engine.sched.Engine;
import io.qwenserve.service.engine.EngineHolder;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The OpenAI-compatible HTTP API over the engine: translation only. {@code stream: true} answers with server-sent
 * events; a client that goes away cancels its generation (freeing its KV blocks at once). Errors are OpenAI's JSON shape
 * ({@link OpenAiError}); API keys are checked by {@link io.qwenserve.service.security.HttpApiKeyFilter}.
 */
@Path("/v1")
public class OpenAiResource {
    /** A model name every server answers to besides the model's own ({@code model: "qwen"}). */
    static final String ALIAS = "qwen";

    @Inject
    EngineHolder holder;

    @Inject
    OpenAiRequests requests;

    @Inject
    ObjectMapper json;

    @POST
    @Path("/chat/completions")
    @Blocking
    public RestMulti<byte[]> chatCompletions(ChatCompletionRequest body) {
        return answer("chatcmpl-", body == null ? null : body.model(), (engine, id, model) ->
                new ChatResponder(requests.chat(body, engine, id), id, model, new TokenText(engine.tokenizer())));
    }

    @POST
    @Path("/completions")
    @Blocking
    public RestMulti<byte[]> completions(CompletionRequest body) {
        return answer("cmpl-", body == null ? null : body.model(), (engine, id, model) ->
                new CompletionResponder(requests.completion(body, id), id, model, new TokenText(engine.tokenizer())));
    }

    @GET
    @Path("/models")
    @Produces(MediaType.APPLICATION_JSON)
    public ModelList models() {
        Engine engine = holder.engine();
        io.qwenserve.engine.api.ModelInfo m = engine.modelInfo();
        List<ModelList.Model> models = new java.util.ArrayList<>();
        models.add(new ModelList.Model(modelId(), "model", 0, "qwen-serve", m.maxModelLen(), m.architecture(), holder.demo(),
                null, null));
        for (AdapterInfo a : engine.adapters()) { // LoRA adapters, as vLLM lists them: parent = the base model
            models.add(new ModelList.Model(a.name(), "model", 0, "qwen-serve", m.maxModelLen(), m.architecture(), holder.demo(),
                    modelId(), a.dir().toString()));
        }
        return new ModelList("list", models);
    }

    /** Plans the answer to one call: the engine, the response id and the model name responses carry. */
    private interface Plan {
        Responder apply(Engine engine, String id, String model);
    }

    private RestMulti<byte[]> answer(String idPrefix, String model, Plan plan) {
        Uni<HttpReply> reply;
        try {
            Engine engine = holder.engine();
            boolean base = model == null || model.isEmpty() || model.equals(modelId()) || model.equals(ALIAS);
            if (!base && engine.adapters().stream().noneMatch(a -> a.name().equals(model))) {
                reply = Uni.createFrom().item(HttpReply.json(json, 404, OpenAiError.modelNotFound("The model '" + model
                        + "' does not exist; this server serves '" + modelId() + "'" + adapterList(engine) + " (GET /v1/models)")
                        .body()));
                return HttpReply.toRest(reply);
            }
            String adapter = base ? null : model;
            Responder r = plan.apply(engine, idPrefix + UUID.randomUUID().toString().replace("-", ""), base ? modelId() : model);
            List<GenerationRequest> requests = r.call().requests().stream().map(g -> g.withAdapter(adapter)).toList();
            Multi<Generations.ChoiceEvent> events = Generations.submit(holder, engine, requests);
            if (r.call().stream()) {
                Multi<Object> chunks = Multi.createBy().concatenating().streams(
                        Multi.createFrom().iterable(r.start()),
                        events.onItem().transformToIterable(r::chunks),
                        Multi.createFrom().deferred(() -> Multi.createFrom().iterable(r.end())));
                reply = Uni.createFrom().item(HttpReply.sse(json, chunks));
            } else {
                reply = events.collect().asList().map(all -> HttpReply.json(json, 200, r.completion(all)))
                        .onFailure().recoverWithItem(t -> HttpReply.error(json, t));
            }
        } catch (RuntimeException e) {
            reply = Uni.createFrom().item(HttpReply.error(json, e));
        }
        return HttpReply.toRest(reply);
    }

    private static String adapterList(Engine engine) {
        List<String> names = engine.adapters().stream().map(AdapterInfo::name).toList();
        return names.isEmpty() ? "" : " and the LoRA adapters " + String.join(", ", names);
    }

    /** The model's name as the API reports it: its folder's name. */
    private String modelId() {
        return holder.modelDir().getFileName().toString();
    }

    @ServerExceptionMapper
    public RestResponse<OpenAiError.Body> badJson(JsonProcessingException e) {
        String param = e instanceof JsonMappingException m && !m.getPath().isEmpty() ? m.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[") : null;
        return OpenAiError.invalid("invalid JSON body: " + e.getOriginalMessage(), param).toResponse();
    }

    @ServerExceptionMapper
    public RestResponse<OpenAiError.Body> httpError(WebApplicationException e) {
        if (e.getCause() instanceof JsonProcessingException j) {
            return badJson(j);
        }
        int status = e.getResponse().getStatus();
        return OpenAiError.of(status, e.getMessage(), status >= 500 ? "server_error" : "invalid_request_error", null, null).toResponse();
    }

    @ServerExceptionMapper
    public RestResponse<OpenAiError.Body> refused(RuntimeException e) {
        return OpenAiError.of(e).toResponse();
    }
}
