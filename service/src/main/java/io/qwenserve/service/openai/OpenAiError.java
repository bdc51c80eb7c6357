package io.qwenserve.service.openai;

import io.qwenserve.service.api.ResponseMapper.ApiError;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestResponse;

/**
 * An error as OpenAI's API writes it, {@code {"error": {"message", "type", "param", "code"}}}, with its HTTP status.
 * Refusals of the engine and of validation map as: invalid argument 400, prompt too long 400
 * ({@code context_length_exceeded}), unknown model or adapter 404 ({@code model_not_found}), queue full 429, unavailable
 * 503, anything else 500.
 */
public record OpenAiError(int status, Body body) {
    public record Body(Detail error) {}

    public record Detail(String message, String type, String param, String code) {}

    /** As a JAX-RS response with a JSON body. */
    public RestResponse<Body> toResponse() {
        return RestResponse.ResponseBuilder.create(Response.Status.fromStatusCode(status), body).type(MediaType.APPLICATION_JSON_TYPE).build();
    }

    public static OpenAiError of(int status, String message, String type, String param, String code) {
        return new OpenAiError(status, new Body(new Detail(message, type, param, code)));
    }

    public static OpenAiError of(Throwable t) {
        if (t instanceof GenerationFailedException) {
            return engineFailure(t.getMessage());
        }
        ApiError e = ApiError.of(t);
        return switch (e.code()) {
            case "INVALID_ARGUMENT" -> invalid(e.message(), e.field());
            case "FAILED_PRECONDITION" -> of(400, e.message(), "invalid_request_error", e.field(), "context_length_exceeded");
            case "RESOURCE_EXHAUSTED" -> of(429, e.message(), "rate_limit_error", null, "queue_full");
            case "UNAVAILABLE" -> of(503, e.message(), "server_error", null, "unavailable");
            case "NOT_FOUND" -> modelNotFound(e.message());
            default -> of(500, e.message(), "server_error", null, "internal_error");
        };
    }

    /** 404 {@code model_not_found}: the request's {@code model} is neither the model nor a served adapter. */
    public static OpenAiError modelNotFound(String message) {
        return of(404, message, "invalid_request_error", "model", "model_not_found");
    }

    public static OpenAiError invalid(String message, String param) {
        return of(400, message, "invalid_request_error", param, null);
    }

    public static OpenAiError unauthorized() {
        return of(401, "missing or invalid API key (authorization: Bearer <key>)", "invalid_request_error", null,
                "invalid_api_key");
    }

    /** A generation that failed inside the engine after it started. */
    public static OpenAiError engineFailure(String message) {
        return of(500, message != null ? message : "engine failure", "server_error", null, "internal_error");
    }
}
