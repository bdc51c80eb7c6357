package io.qwenserve.service.deploy;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.qwenserve.service.engine.EngineHolder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Parses every Kubernetes manifest and the Dockerfiles in {@code deploy/} and checks them against what the running
 * service really exposes, built as the images build it (health and metrics on the management interface): probe paths
 * answer there and not on the public port, ports and metric names exist, configuration keys are real.
 */
@QuarkusTest
@TestProfile(DeployManifestsTest.Management.class)
class DeployManifestsTest {
    /** The images' build: {@code -Dquarkus.management.enabled=true}. */
    public static class Management implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.management.enabled", "true", "quarkus.management.test-port", "0");
        }
    }

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

    /** The management interface of the service under test. */
    static RequestSpecification management() {
        return given().port(ConfigProvider.getConfig().getValue("quarkus.management.test-port", Integer.class));
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
    void probesHitTheRealHealthEndpointsOnTheManagementPort() {
        JsonNode c = container();
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            String path = c.path(probe).path("httpGet").path("path").asText();
            assertTrue(path.startsWith("/q/health/"), probe + " " + path);
            management().when().get(path).then().statusCode(200);
            given().when().get(path).then().statusCode(404); // not on the public port
            assertEquals("management", c.path(probe).path("httpGet").path("port").asText());
        }
        assertEquals("/q/health/started", c.path("startupProbe").path("httpGet").path("path").asText());
        assertEquals("/q/health/ready", c.path("readinessProbe").path("httpGet").path("path").asText());
        assertEquals("/q/health/live", c.path("livenessProbe").path("httpGet").path("path").asText());
    }

    @Test
    void portsLineUp() {
        JsonNode c = container();
        assertEquals(8080, port(c, "http"), "the service's default quarkus.http.port");
        assertEquals(9090, port(c, "management"), "QUARKUS_MANAGEMENT_PORT of the images");
        JsonNode svc = service("qwen-serve");
        for (JsonNode p : svc.path("spec").path("ports")) {
            assertEquals("http", p.path("targetPort").asText(), "gRPC and HTTP share the container port; management is not exposed");
        }
        JsonNode mgmt = service("qwen-serve-management");
        assertEquals("management", mgmt.path("spec").path("ports").get(0).path("targetPort").asText());
        JsonNode sm = one("ServiceMonitor");
        String smPort = sm.path("spec").path("endpoints").get(0).path("port").asText();
        assertTrue(mgmt.path("spec").path("ports").findValuesAsText("name").contains(smPort));
        String metricsPath = sm.path("spec").path("endpoints").get(0).path("path").asText();
        assertEquals("/q/metrics", metricsPath);
        management().when().get(metricsPath).then().statusCode(200);
        given().when().get(metricsPath).then().statusCode(404);
    }

    @Test
    void autoscalingUsesMetricsTheServiceExports() {
        String metrics = management().when().get("/q/metrics").then().statusCode(200).extract().asString();
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
        assertEquals(service("qwen-serve-management").path("metadata").path("labels"), sm.path("spec").path("selector").path("matchLabels"));
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
        // QWEN_MODEL_PATH -> qwen.model.path; hyphens are spelled with _ in env vars (QWEN_API_KEY_PRIORITIES: qwen.api-key-priorities)
        java.util.Set<String> documented = new java.util.HashSet<>();
        Matcher keys = Pattern.compile("`(qwen\\.[a-z0-9.-]+)`").matcher(readme);
        while (keys.find()) {
            documented.add(keys.group(1).replace('-', '.'));
        }
        for (JsonNode e : container().path("env")) {
            String name = e.path("name").asText();
            if (name.startsWith("QWEN_")) {
                String key = name.toLowerCase(Locale.ROOT).replace('_', '.');
                assertTrue(documented.contains(key), name + " (" + key + ") is not a documented configuration key");
            }
        }
    }

    @Test
    void dockerfilesMatchTheService() throws IOException {
        for (String f : List.of("Dockerfile", "Dockerfile.cuda")) {
            String df = Files.readString(DEPLOY.resolve("docker").resolve(f));
            assertTrue(df.contains("EXPOSE 8080 9090"), f);
            assertTrue(df.contains("-Dquarkus.management.enabled=true"), f + " builds health and metrics on their own port");
            assertTrue(df.contains("QUARKUS_MANAGEMENT_PORT=9090"), f);
            assertTrue(df.contains("http://localhost:9090/q/health/ready"), f);
            assertTrue(df.contains("USER 10001"), f + " runs as non-root");
            assertTrue(df.contains("OMP_WAIT_POLICY=PASSIVE"), f);
            assertTrue(df.contains("quarkus-run.jar"), f);
        }
    }

    private static JsonNode service(String name) {
        return all("Service").stream().filter(d -> d.path("metadata").path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no Service " + name));
    }

    private static int port(JsonNode container, String name) {
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(name)) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no container port " + name);
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
