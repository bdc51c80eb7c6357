package io.qwenserve.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Load over the OpenAI-compatible HTTP API with {@code stream: true} (SSE): {@code POST /v1/chat/completions}, or
 * {@code /v1/completions} with a token-id prompt.
 */
final class HttpTarget implements LoadTarget {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI chatUri;
    private final URI completionsUri;
    private final String apiKey;
    private final ObjectMapper om = new ObjectMapper();

    HttpTarget(String url, String apiKey) {
        String base = url.contains("://") ? url : "http://" + url;
        this.chatUri = URI.create(base.replaceAll("/+$", "") + "/v1/chat/completions");
        this.completionsUri = URI.create(base.replaceAll("/+$", "") + "/v1/completions");
        this.apiKey = apiKey;
    }

    @Override
    public String name() {
        return "http";
    }

    @Override
    public RequestResult send(RequestSpec spec, long clock) {
        TokenRecorder rec = new TokenRecorder(clock);
        ObjectNode body = om.createObjectNode().put("model", "qwen").put("stream", true).put("max_tokens", spec.maxTokens())
                .put("temperature", 0);
        body.putObject("stream_options").put("include_usage", true);
        body.put("repetition_penalty", 1.0);
        if (spec.promptIds() != null) {
            var ids = body.putArray("prompt");
            for (int id : spec.promptIds()) {
                ids.add(id);
            }
        } else {
            body.putArray("messages").addObject().put("role", "user").put("content", spec.prompt());
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(spec.promptIds() != null ? completionsUri : chatUri).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) {
            b.header("authorization", "Bearer " + apiKey);
        }
        try {
            HttpResponse<java.io.InputStream> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            if (resp.statusCode() != 200) {
                resp.body().close();
                return rec.done(spec.id(), 0, "http_" + resp.statusCode());
            }
            int total = 0;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    String data = line.substring(5).trim();
                    if (data.equals("[DONE]")) {
                        break;
                    }
                    JsonNode ev = om.readTree(data);
                    if (ev.has("error")) {
                        return rec.done(spec.id(), 0, ev.path("error").path("code").asText("error"));
                    }
                    JsonNode choice = ev.path("choices").path(0);
                    String piece = choice.has("text") ? choice.path("text").asText("") : choice.path("delta").path("content").asText("");
                    if (!choice.isMissingNode() && !piece.isEmpty()) {
                        rec.tokens(1);
                    }
                    if (ev.path("usage").has("completion_tokens")) {
                        total = ev.path("usage").path("completion_tokens").asInt();
                    }
                }
            }
            return rec.done(spec.id(), total, null);
        } catch (java.io.IOException e) {
            return rec.done(spec.id(), 0, "io");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return rec.done(spec.id(), 0, "interrupted");
        }
    }
}
