package io.qwenserve.service.security;

import io.qwenserve.service.openai.OpenAiError;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import java.util.Optional;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Requires {@code Authorization: Bearer <key>} on the HTTP API (every REST endpoint: {@code /v1/*}) when API keys are
 * configured; answers 401 in OpenAI's error shape otherwise. Health, metrics and the web page's static files are not
 * REST endpoints and stay open.
 */
public class HttpApiKeyFilter {
    @Inject
    ApiKeys keys;

    @ServerRequestFilter
    public Optional<RestResponse<OpenAiError.Body>> requireKey(ContainerRequestContext request) {
        if (keys.authorized(request.getHeaderString(HttpHeaders.AUTHORIZATION))) {
            return Optional.empty();
        }
        RestResponse<OpenAiError.Body> r = OpenAiError.unauthorized().toResponse();
        r.getHeaders().putSingle(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        return Optional.of(r);
    }
}
