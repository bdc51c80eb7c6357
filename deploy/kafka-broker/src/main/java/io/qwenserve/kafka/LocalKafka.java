package io.qwenserve.kafka;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * A single-node Kafka broker (KRaft combined mode: broker and controller in one process, bound to 127.0.0.1) started
 * from the Maven Central jars in {@code HOME/lib}, for {@code bin/kafka}, {@code bin/demo} and the tests.
 *
 * <p>Everything lives in one state folder: {@code server.properties}, {@code data/}, {@code broker.log},
 * {@code broker.pid} and {@code bootstrap}. {@link #start} always gives a fresh broker (the {@code data/} of an
 * earlier one is removed); {@link #restart} starts a stopped one again on its data and ports (topics, records and
 * committed offsets kept: a broker outage and its end); {@link #running} finds the one a state folder records;
 * {@link #stop} ends it by its PID (SIGTERM, then SIGKILL after 20 s). Topics are created by the service, with the
 * partition counts from its configuration.
 *
 * <p>With {@link SaslSsl} the broker also listens for SASL_SSL clients (SASL/PLAIN over TLS, a PKCS12 key store) on a
 * port of its own, {@link #saslBootstrap()}; the PLAINTEXT listener stays for tools.
 */
public final class LocalKafka {
    private static final long READY_TIMEOUT_MS = 120_000;

    /**
     * A SASL_SSL listener: SASL/PLAIN with these users (name to password) over TLS with this PKCS12 key store.
     *
     * @param keyStore the broker's certificate and key (PKCS12)
     */
    public record SaslSsl(Path keyStore, String keyStorePassword, Map<String, String> users) {}

    private final Path dir;
    private final long pid;
    private final String bootstrap;

    private LocalKafka(Path dir, long pid, String bootstrap) {
        this.dir = dir;
        this.pid = pid;
        this.bootstrap = bootstrap;
    }

    public static LocalKafka start(Path home, Path dir, int port, OptionalLong ownerPid) throws IOException, InterruptedException {
        return start(home, dir, port, ownerPid, null);
    }

    /**
     * Starts a fresh broker and waits until it answers.
     *
     * @param home     folder holding {@code classes/} and {@code lib/} of this module (its {@code target/})
     * @param dir      state folder
     * @param port     client port on 127.0.0.1; 0 picks a free one
     * @param ownerPid when present, the broker exits when this process ends
     * @param sasl     a SASL_SSL listener too, or null
     */
    public static LocalKafka start(Path home, Path dir, int port, OptionalLong ownerPid, SaslSsl sasl) throws IOException, InterruptedException {
        running(dir).ifPresent(LocalKafka::stop);
        deleteRecursively(dir.resolve("data"));
        Files.deleteIfExists(dir.resolve("sasl-bootstrap"));
        Files.deleteIfExists(dir.resolve("broker.log"));
        Files.createDirectories(dir);
        int clientPort = port > 0 ? port : freePort();
        int controllerPort = freePort();
        String bootstrap = "127.0.0.1:" + clientPort;
        String properties = serverProperties(dir.resolve("data"), clientPort, controllerPort);
        if (sasl != null) {
            int saslPort = freePort();
            properties = withSaslSsl(properties, saslPort, sasl);
            Files.writeString(dir.resolve("sasl-bootstrap"), "127.0.0.1:" + saslPort);
        }
        Files.writeString(dir.resolve("server.properties"), properties);
        Files.writeString(dir.resolve("bootstrap"), bootstrap);
        return launch(home, dir, clientPort, bootstrap, ownerPid);
    }

    /**
     * Starts again the stopped broker of a state folder, on its data, configuration and ports, and waits until it
     * answers; a broker still running there is returned as it is.
     */
    public static LocalKafka restart(Path home, Path dir, OptionalLong ownerPid) throws IOException, InterruptedException {
        Optional<LocalKafka> running = running(dir);
        if (running.isPresent()) {
            return running.get();
        }
        if (!Files.exists(dir.resolve("server.properties")) || !Files.exists(dir.resolve("data")) || !Files.exists(dir.resolve("bootstrap"))) {
            throw new IOException("no stopped broker to restart in " + dir + " (start one first)");
        }
        String bootstrap = Files.readString(dir.resolve("bootstrap")).trim();
        return launch(home, dir, Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1)), bootstrap, ownerPid);
    }

    private static LocalKafka launch(Path home, Path dir, int clientPort, String bootstrap, OptionalLong ownerPid)
            throws IOException, InterruptedException {
        Path config = dir.resolve("server.properties");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-cp", home.resolve("classes") + java.io.File.pathSeparator + home.resolve("lib") + "/*",
                BrokerMain.class.getName(), config.toString()));
        ownerPid.ifPresent(p -> cmd.addAll(List.of("--owner-pid", Long.toString(p))));
        Path log = dir.resolve("broker.log");
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        LocalKafka broker = new LocalKafka(dir, process.pid(), bootstrap);
        Files.writeString(dir.resolve("broker.pid"), Long.toString(process.pid()));
        try {
            awaitReady(process, clientPort, bootstrap, log);
        } catch (IOException | RuntimeException | InterruptedException e) {
            broker.stop();
            throw e;
        }
        return broker;
    }

    /** The broker a state folder records, when its process is still alive. */
    public static Optional<LocalKafka> running(Path dir) throws IOException {
        Path pidFile = dir.resolve("broker.pid");
        Path bootstrapFile = dir.resolve("bootstrap");
        if (!Files.exists(pidFile) || !Files.exists(bootstrapFile)) {
            return Optional.empty();
        }
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        return ProcessHandle.of(pid).filter(LocalKafka::isBroker)
                .map(h -> new LocalKafka(dir, pid, readQuietly(bootstrapFile)));
    }

    public String bootstrap() {
        return bootstrap;
    }

    /** The SASL_SSL listener's address, or null when the broker has none. */
    public String saslBootstrap() {
        return Files.exists(dir.resolve("sasl-bootstrap")) ? readQuietly(dir.resolve("sasl-bootstrap")) : null;
    }

    public long pid() {
        return pid;
    }

    public Path log() {
        return dir.resolve("broker.log");
    }

    /** SIGTERM (a clean stop takes 0.5-2.5 s), SIGKILL when it has not ended after 20 s; removes the PID file. */
    public void stop() {
        ProcessHandle.of(pid).filter(LocalKafka::isBroker).ifPresent(h -> {
            h.destroy();
            try {
                h.onExit().get(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        });
        try {
            Files.deleteIfExists(dir.resolve("broker.pid"));
        } catch (IOException ignored) {
            // the process is gone; a stale file is harmless (running() checks the process)
        }
    }

    /** Guards against a reused PID: only our broker's command line is ever signalled. */
    private static boolean isBroker(ProcessHandle h) {
        return h.isAlive() && h.info().commandLine().map(c -> c.contains(BrokerMain.class.getName())).orElse(true);
    }

    static String serverProperties(Path data, int clientPort, int controllerPort) {
        return String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.bootstrap.servers=127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + clientPort,
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + data.toAbsolutePath(),
                // a single node: every internal topic has one replica, or consumer groups never form
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                // lets tests use short session timeouts, so that a killed consumer's partitions move within seconds
                "group.min.session.timeout.ms=1000",
                "num.partitions=1",
                "");
    }

    /** Adds a SASL_SSL listener (SASL/PLAIN, TLS with a PKCS12 key store) to a configuration. */
    static String withSaslSsl(String properties, int port, SaslSsl sasl) {
        StringBuilder users = new StringBuilder();
        sasl.users().forEach((user, password) -> users.append(" user_").append(user).append("=\"").append(password).append('"'));
        String listener = "SASL_SSL://127.0.0.1:" + port;
        return properties.lines().map(l -> l.startsWith("listeners=") || l.startsWith("advertised.listeners=") ? l + "," + listener
                        : l.startsWith("listener.security.protocol.map=") ? l + ",SASL_SSL:SASL_SSL" : l)
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"))
                + String.join("\n",
                "sasl.enabled.mechanisms=PLAIN",
                "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + users + ";",
                "listener.name.sasl_ssl.ssl.keystore.type=PKCS12",
                "listener.name.sasl_ssl.ssl.keystore.location=" + sasl.keyStore().toAbsolutePath(),
                "listener.name.sasl_ssl.ssl.keystore.password=" + sasl.keyStorePassword(),
                "");
    }

    private static void awaitReady(Process process, int port, String bootstrap, Path log) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        while (!accepts(port)) { // before the admin client, whose retries log a warning each
            if (!process.isAlive() || System.currentTimeMillis() > deadline) {
                break;
            }
            Thread.sleep(100);
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000))) {
            while (true) {
                if (!process.isAlive()) {
                    throw new IOException("the Kafka broker exited with " + process.exitValue() + ":\n" + Files.readString(log));
                }
                try {
                    if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception notYet) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new IOException("the Kafka broker did not answer at " + bootstrap + " within "
                                + READY_TIMEOUT_MS / 1000 + " s:\n" + Files.readString(log));
                    }
                }
                Thread.sleep(100);
            }
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
