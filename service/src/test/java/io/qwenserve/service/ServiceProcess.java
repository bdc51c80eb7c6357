package io.qwenserve.service;

import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;

/** The packaged service ({@code quarkus-run.jar}) started as a real process, for tests that need signals or kills. */
public final class ServiceProcess implements AutoCloseable {
    public final Process process;
    /** The port that serves gRPC and HTTP: {@code quarkus.http.ssl-port} when TLS is on. */
    public final int port;
    public final Path log;
    private final SSLContext tls;

    private ServiceProcess(Process process, int port, Path log, SSLContext tls) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.tls = tls;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts the service with {@code props} as system properties and waits until it is ready. */
    public static ServiceProcess start(String name, Map<String, String> props) throws Exception {
        return start(name, props, null);
    }

    /**
     * The same; with {@code tls} (trusting the service's certificate) it is reached over HTTPS on
     * {@code quarkus.http.ssl-port}, which {@code props} must set.
     */
    public static ServiceProcess start(String name, Map<String, String> props, SSLContext tls) throws Exception {
        String jar = System.getProperty("qwen.service.jar", "target/quarkus-app/quarkus-run.jar");
        int port = tls != null ? Integer.parseInt(props.get("quarkus.http.ssl-port")) : freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dquarkus.http.port=" + (tls != null ? freePort() : port), "-Dqwen.model.demo.dir=target/test-demo-model",
                "-Dqwen.model.demo.trained=false", "-Dqwen.model.dtype=fp32",
                "-Dqwen.engine.kv-cache-tokens=8192"));
        props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.addAll(List.of("-jar", jar));
        Path log = Path.of("target", name + ".log");
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ServiceProcess sp = new ServiceProcess(p, port, log, tls);
        long deadline = System.currentTimeMillis() + 180_000;
        while (System.currentTimeMillis() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("service exited: " + Files.readString(log));
            }
            if (sp.readyStatus() == 200) {
                return sp;
            }
            Thread.sleep(200);
        }
        sp.close();
        throw new IllegalStateException("service not ready in time: " + Files.readString(log));
    }

    /** The body of a GET on the service's HTTP port. */
    public String get(String path) throws IOException {
        HttpURLConnection c = open(path);
        c.setConnectTimeout(500);
        c.setReadTimeout(5000);
        try (var in = c.getResponseCode() < 400 ? c.getInputStream() : c.getErrorStream()) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** HTTP status of /q/health/ready, or -1 when the port does not answer. */
    public int readyStatus() {
        return status("/q/health/ready");
    }

    /** HTTP status of a GET, or -1 when the port does not answer. */
    public int status(String path) {
        try {
            HttpURLConnection c = open(path);
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            return c.getResponseCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private HttpURLConnection open(String path) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create((tls != null ? "https" : "http") + "://localhost:" + port + path).toURL()
                .openConnection();
        if (c instanceof HttpsURLConnection https) {
            https.setSSLSocketFactory(tls.getSocketFactory());
        }
        return c;
    }

    public String logText() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }

    static File javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toFile();
    }
}
