package io.qwenserve.kafka;

import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * {@code bin/kafka start [--port P] [--keep-data] [--owner-pid N] | stop | status}, all with {@code --dir STATE_FOLDER}:
 * a local broker that outlives the command, recorded in the state folder. {@code start} prints the bootstrap address on
 * stdout; it reuses a broker that is already running there, and starts nothing when {@code KAFKA_BOOTSTRAP_SERVERS}
 * names one. A fresh start removes the data of an earlier broker; {@code --keep-data} instead starts the broker that
 * {@code stop} stopped again, on its data and port (topics, records and committed offsets kept). With
 * {@code --owner-pid N} the broker exits when process N ends. {@code status} exits with 0 when the broker runs, 3 when
 * not.
 */
public final class LocalKafkaCli {
    private LocalKafkaCli() {}

    public static void main(String[] args) throws Exception {
        String command = args.length > 0 ? args[0] : "";
        Path dir = Path.of("target", "kafka");
        int port = 9092;
        boolean keepData = false;
        OptionalLong owner = OptionalLong.empty();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> dir = Path.of(value(args, ++i));
                case "--port" -> port = Integer.parseInt(value(args, ++i));
                case "--owner-pid" -> owner = OptionalLong.of(Long.parseLong(value(args, ++i)));
                case "--keep-data" -> keepData = true;
                default -> usage();
            }
        }
        var running = LocalKafka.running(dir);
        switch (command) {
            case "start" -> {
                String external = System.getenv("KAFKA_BOOTSTRAP_SERVERS");
                if (external != null && !external.isBlank()) {
                    System.err.println("using the broker at " + external + " (KAFKA_BOOTSTRAP_SERVERS)");
                    System.out.println(external);
                } else if (running.isPresent()) {
                    System.err.println("broker already running (pid " + running.get().pid() + ")");
                    System.out.println(running.get().bootstrap());
                } else {
                    long t0 = System.nanoTime();
                    LocalKafka k = keepData ? LocalKafka.restart(home(), dir, owner) : LocalKafka.start(home(), dir, port, owner);
                    System.err.printf("broker %s in %.1f s (pid %d, log %s)%n", keepData ? "restarted on its data" : "started",
                            (System.nanoTime() - t0) / 1e9, k.pid(), k.log());
                    System.out.println(k.bootstrap());
                }
            }
            case "stop" -> {
                running.ifPresent(LocalKafka::stop);
                System.err.println(running.isPresent() ? "broker stopped (pid " + running.get().pid() + ")" : "no broker running");
            }
            case "status" -> {
                System.out.println(running.map(k -> "running at " + k.bootstrap() + " (pid " + k.pid() + ")").orElse("not running"));
                System.exit(running.isPresent() ? 0 : 3);
            }
            default -> usage();
        }
    }

    /** This module's target folder: where {@code classes/} (or the jar) and {@code lib/} are. */
    private static Path home() throws Exception {
        return Path.of(LocalKafkaCli.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent();
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            usage();
        }
        return args[i];
    }

    private static void usage() {
        System.err.println("usage: bin/kafka start [--port P] [--keep-data] [--owner-pid N] | stop | status   (state in --dir, default "
                + "target/kafka)");
        System.exit(2);
    }
}
