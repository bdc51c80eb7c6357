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
 * earlier one is removed); {@link #running} finds the one a state folder records; {@link #stop} ends it by its PID (SIGTERM, then
 * SIGKILL after 20 s). Topics are created by the service, with the partition counts from its configuration.
 */
public final class LocalKafka {
    private static final long READY_TIMEOUT_MS = 120_000;

    private final Path dir;
    private final long pid;
    private final String bootstrap;

    private LocalKafka(Path dir, long pid, String bootstrap) {
        this.dir = dir;
        this.pid = pid;
        this.bootstrap = bootstrap;
    }

    /**
     * Starts a fresh broker and waits until it answers.
     *
     * @param home     folder holding {@code classes/} and {@code lib/} of this module (its {@code target/})
     * @param dir      state folder
     * @param port     client port on 127.0.0.1; 0 picks a free one
     * @param ownerPid when present, the broker exits when this process ends
     */
    public static LocalKafka start(Path home, Path dir, int port, OptionalLong ownerPid) throws IOException, InterruptedException {
        running(dir).ifPresent(LocalKafka::stop);
        deleteRecursively(dir.resolve("data"));
        Files.createDirectories(dir);
        int clientPort = port > 0 ? port : freePort();
        int controllerPort = freePort();
        String bootstrap = "127.0.0.1:" + clientPort;
        Path config = dir.resolve("server.properties");
        Files.writeString(config, serverProperties(dir.resolve("data"), clientPort, controllerPort));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-cp", home.resolve("classes") + java.io.File.pathSeparator + home.resolve("lib") + "/*",
                BrokerMain.class.getName(), config.toString()));
        ownerPid.ifPresent(p -> cmd.addAll(List.of("--owner-pid", Long.toString(p))));
        Path log = dir.resolve("broker.log");
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        LocalKafka broker = new LocalKafka(dir, process.pid(), bootstrap);
        Files.writeString(dir.resolve("broker.pid"), Long.toString(process.pid()));
        Files.writeString(dir.resolve("bootstrap"), bootstrap);
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
