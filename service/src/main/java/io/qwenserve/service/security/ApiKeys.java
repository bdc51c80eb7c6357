package io.qwenserve.service.security;

import io.qwenserve.service.config.QwenConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The configured API keys and the bearer-token check shared by gRPC and HTTP, and the priority range each key may ask
 * for ({@code qwen.api-key-priorities}). With no key configured everything is open, and the start-up log says so.
 */
@ApplicationScoped
public class ApiKeys {
    private static final Logger LOG = Logger.getLogger(ApiKeys.class);

    /** What the start-up log says when no API key is set. */
    public static final String OPEN_WARNING = "No API key is set (qwen.api-keys / QWEN_API_KEYS): the gRPC and HTTP APIs "
            + "answer anyone who can reach the port";

    @Inject
    QwenConfig config;

    private volatile List<byte[]> keys;
    private volatile List<Map.Entry<byte[], PriorityRange>> priorities;

    void onStart(@Observes StartupEvent event) {
        load();
        if (keys.isEmpty()) {
            LOG.warn(OPEN_WARNING);
        } else {
            LOG.infof("API keys: %d configured, %d of them may choose a priority", keys.size(), priorities.size());
        }
    }

    private void load() {
        if (keys != null) {
            return;
        }
        List<byte[]> k = new ArrayList<>();
        config.apiKeys().orElse(List.of()).stream().filter(s -> !s.isBlank()).forEach(s -> k.add(utf8(s.trim())));
        List<Map.Entry<byte[], PriorityRange>> p = new ArrayList<>();
        for (String entry : config.apiKeyPriorities().orElse(List.of())) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.lastIndexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("qwen.api-key-priorities entries are KEY=MIN..MAX, got one without '='");
            }
            byte[] key = utf8(entry.substring(0, eq).trim());
            if (k.stream().noneMatch(c -> MessageDigest.isEqual(c, key))) {
                throw new IllegalArgumentException("qwen.api-key-priorities names a key that is not in qwen.api-keys");
            }
            p.add(Map.entry(key, PriorityRange.parse(entry.substring(eq + 1))));
        }
        priorities = List.copyOf(p);
        keys = List.copyOf(k);
    }

    public boolean enabled() {
        load();
        return !keys.isEmpty();
    }

    /** Whether an {@code authorization} header value carries a valid key (always true when no keys are set). */
    public boolean authorized(String authorization) {
        if (!enabled()) {
            return true;
        }
        byte[] given = bearer(authorization);
        boolean ok = false;
        for (byte[] k : keys) {
            // constant-time comparison, and no early exit, so timing says nothing about the keys
            ok |= given != null && MessageDigest.isEqual(given, k);
        }
        return ok;
    }

    /** The priorities the caller with this {@code authorization} header may ask for, or null when it has no such right. */
    public PriorityRange priorityRange(String authorization) {
        load();
        byte[] given = bearer(authorization);
        PriorityRange found = null;
        for (Map.Entry<byte[], PriorityRange> e : priorities) {
            if (given != null && MessageDigest.isEqual(given, e.getKey())) {
                found = e.getValue();
            }
        }
        return found;
    }

    private static byte[] bearer(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        return utf8(authorization.substring(7).trim());
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
