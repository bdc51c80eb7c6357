package io.qwenserve.service.deploy;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Parses every Kubernetes manifest and the Dockerfiles in {@code deploy/} and checks them against what the running
 * service really exposes: probe paths answer, ports and metric names exist, configuration keys are real.
 */
@QuarkusTest
class DeployManifestsTest {
    static final Path DEPLOY = Path.of("..", "deploy");
    static final List<JsonNode> DOCS = new ArrayList<>();

    @Inject
    EngineHolder holder;

    @BeforeAll
    static void parse() throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        try (Stream<Path> files = Files.list(DEPLOY.resolve("k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (YAMLParser parser = new YAMLFactory().createParser(f.toFile())) {
                    yaml.readValues(parser, JsonNode.class).forEachRemaining(d -> {
                        if (d != null && !d.isEmpty()) {
                            DOCS.add(d);
                        }
                    });
                }
            }
        }
    }

    @BeforeEach
    void ready() throws Exception {
        holder.whenReady().get(120, TimeUnit.SECONDS);
    }

    static JsonNode one(String kind) {
        List<JsonNode> all = all(kind);
        assertEquals(1, all.size(), "exactly one " + kind);
        return all.get(0);
    }

    static List<JsonNode> all(String kind) {
        return DOCS.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
    }

    @Test
    void everyManifestParsesAndIsKnown() {
        assertFalse(DOCS.isEmpty());
        for (JsonNode d : DOCS) {
            assertTrue(d.hasNonNull("apiVersion") && d.hasNonNull("kind"), d.toString());
        }
        for (String kind : List.of("Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget", "ScaledObject", "KafkaTopic")) {
            assertFalse(all(kind).isEmpty(), "missing " + kind);
        }
    }

    @Test
    void probesHitTheRealHealthEndpoints() {
        JsonNode c = container();
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            String path = c.path(probe).path("httpGet").path("path").asText();
            assertTrue(path.startsWith("/q/health/"), probe + " " + path);
            given().when().get(path).then().statusCode(200);
            assertEquals("http", c.path(probe).path("httpGet").path("port").asText());
        }
        assertEquals("/q/health/started", c.path("startupProbe").path("httpGet").path("path").asText());
        assertEquals("/q/health/ready", c.path("readinessProbe").path("httpGet").path("path").asText());
        assertEquals("/q/health/live", c.path("livenessProbe").path("httpGet").path("path").asText());
    }

    @Test
    void portsLineUp() {
        JsonNode c = container();
        assertEquals(8080, c.path("ports").get(0).path("containerPort").asInt(), "the service's default quarkus.http.port");
        assertEquals("http", c.path("ports").get(0).path("name").asText());
        JsonNode svc = one("Service");
        for (JsonNode p : svc.path("spec").path("ports")) {
            assertEquals("http", p.path("targetPort").asText(), "gRPC and HTTP share the container port");
        }
        JsonNode sm = one("ServiceMonitor");
        String smPort = sm.path("spec").path("endpoints").get(0).path("port").asText();
        assertTrue(svc.path("spec").path("ports").findValuesAsText("name").contains(smPort));
        String metricsPath = sm.path("spec").path("endpoints").get(0).path("path").asText();
        assertEquals("/q/metrics", metricsPath);
        given().when().get(metricsPath).then().statusCode(200);
    }

    @Test
    void autoscalingUsesMetricsTheServiceExports() {
        String metrics = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        JsonNode so = one("ScaledObject");
        assertEquals(one("Deployment").path("metadata").path("name").asText(), so.path("spec").path("scaleTargetRef").path("name").asText());
        boolean sawPrometheus = false;
        for (JsonNode t : so.path("spec").path("triggers")) {
            if (t.path("type").asText().equals("prometheus")) {
                sawPrometheus = true;
                Matcher m = Pattern.compile("qwen_[a-z_]+").matcher(t.path("metadata").path("query").asText());
                assertTrue(m.find(), "query names a qwen_ metric");
                do {
                    assertTrue(metrics.contains(m.group() + " ") || metrics.contains(m.group() + "{"), "metric " + m.group() + " is exported");
                } while (m.find());
            }
        }
        assertTrue(sawPrometheus);
        JsonNode sm = one("ServiceMonitor");
        assertEquals(one("Service").path("metadata").path("labels"), sm.path("spec").path("selector").path("matchLabels"));
    }

    @Test
    void gracePeriodCoversTheDrain() {
        JsonNode pod = one("Deployment").path("spec").path("template").path("spec");
        int grace = pod.path("terminationGracePeriodSeconds").asInt();
        String drain = env(container(), "QWEN_SHUTDOWN_GRACE");
        int drainSeconds = Integer.parseInt(drain.replace("s", ""));
        int preStop = container().path("lifecycle").path("preStop").path("sleep").path("seconds").asInt();
        assertTrue(grace > drainSeconds + preStop + 5, "terminationGracePeriodSeconds " + grace + " must exceed drain " + drainSeconds + " + preStop " + preStop);
    }

    @Test
    void environmentVariablesAreDocumentedConfigurationKeys() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (JsonNode e : container().path("env")) {
            String name = e.path("name").asText();
            if (name.startsWith("QWEN_")) {
                String key = name.toLowerCase(Locale.ROOT).replace('_', '.');
                // QWEN_MODEL_PATH -> qwen.model.path; hyphenated keys (qwen.api-keys) are spelled with _ in env vars
                boolean documented = readme.contains("`" + key + "`") || readme.contains("`" + key.replaceAll("\\.([a-z]+)$", "-$1") + "`")
                        || readme.contains("`" + key.replace("api.keys", "api-keys") + "`");
                assertTrue(documented, name + " (" + key + ") is not a documented configuration key");
            }
        }
    }

    @Test
    void dockerfilesMatchTheService() throws IOException {
        for (String f : List.of("Dockerfile", "Dockerfile.cuda")) {
            String df = Files.readString(DEPLOY.resolve("docker").resolve(f));
            assertTrue(df.contains("EXPOSE 8080"), f);
            assertTrue(df.contains("/q/health/ready"), f);
            assertTrue(df.contains("USER 10001"), f + " runs as non-root");
            assertTrue(df.contains("OMP_WAIT_POLICY=PASSIVE"), f);
            assertTrue(df.contains("quarkus-run.jar"), f);
        }
    }

    private static JsonNode container() {
        return one("Deployment").path("spec").path("template").path("spec").path("containers").get(0);
    }

    private static String env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (e.path("name").asText().equals(name)) {
                return e.path("value").asText();
            }
        }
        fail("no env " + name);
        return null;
    }

}
