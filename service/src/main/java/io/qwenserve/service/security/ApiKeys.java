package io.qwenserve.service.security;

import io.qwenserve.service.config.QwenConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/** The configured API keys and the bearer-token check shared by gRPC and HTTP. */
@ApplicationScoped
public class ApiKeys {
    @Inject
    QwenConfig config;

    public boolean enabled() {
        return config.apiKeys().map(l -> l.stream().anyMatch(k -> !k.isBlank())).orElse(false);
    }

    /** Whether an {@code authorization} header value carries a valid key (always true when no keys are set). */
    public boolean authorized(String authorization) {
        if (!enabled()) {
            return true;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        List<String> keys = config.apiKeys().orElse(List.of());
        boolean ok = false;
        for (String k : keys) {
            // constant-time comparison, and no early exit, so timing says nothing about the keys
            ok |= !k.isBlank() && MessageDigest.isEqual(given, k.trim().getBytes(StandardCharsets.UTF_8));
        }
        return ok;
    }
}
