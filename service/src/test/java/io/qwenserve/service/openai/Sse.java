package io.qwenserve.service.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.config.ConfigProvider;

/** Test helper: a raw HTTP POST whose server-sent events are split into their {@code data:} payloads. */
final class Sse {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The response's status, content type and raw body. */
    record Raw(int status, String contentType, String body) {
        /** The {@code data:} payloads, in order ({@code [DONE]} included as text). */
        List<String> data() {
            List<String> out = new ArrayList<>();
            for (String event : body.split("\n\n")) {
                if (event.isBlank()) {
                    continue;
                }
                if (!event.startsWith("data: ") || event.indexOf('\n') >= 0) {
                    throw new AssertionError("not a one-line data event: " + event);
                }
                out.add(event.substring(6));
            }
            return out;
        }

        /** The JSON events, without the final {@code [DONE]} (which must be there, once, last). */
        List<JsonNode> events() throws IOException {
            List<String> data = data();
            if (data.isEmpty() || !data.get(data.size() - 1).equals("[DONE]") || data.indexOf("[DONE]") != data.size() - 1) {
                throw new AssertionError("stream must end with one data: [DONE]: " + body);
            }
            List<JsonNode> out = new ArrayList<>();
            for (String d : data.subList(0, data.size() - 1)) {
                out.add(JSON.readTree(d));
            }
            return out;
        }
    }

    private Sse() {
    }

    static int port() {
        return ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
    }

    static Raw post(String path, String json) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port() + path))
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        return new Raw(r.statusCode(), r.headers().firstValue("content-type").orElse(""), r.body());
    }
}
