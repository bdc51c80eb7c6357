package io.qwenserve.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;

/**
 * The broker process that {@link LocalKafka} starts: formats the KRaft log folder on first start, then runs
 * {@code kafka.Kafka} on the given {@code server.properties}. With {@code --owner-pid N} it also exits (cleanly, through
 * Kafka's shutdown hook) when process N ends, so that a test JVM killed with SIGKILL does not leave its broker behind.
 *
 * <p>Usage: {@code BrokerMain SERVER_PROPERTIES [--owner-pid N]}
 */
public final class BrokerMain {
    private BrokerMain() {}

    public static void main(String[] args) throws IOException {
        Path config = Path.of(args[0]);
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(config)) {
            props.load(r);
        }
        if (!Files.exists(Path.of(props.getProperty("log.dirs"), "meta.properties"))) {
            int rc = StorageTool.execute(new String[] {"format", "--standalone", "-t", Uuid.randomUuid().toString(),
                    "-c", config.toString()}, System.out);
            if (rc != 0) {
                System.exit(rc);
            }
        }
        if (args.length == 3 && args[1].equals("--owner-pid")) {
            exitWith(Long.parseLong(args[2]));
        }
        kafka.Kafka.main(new String[] {config.toString()});
    }

    private static void exitWith(long ownerPid) {
        ProcessHandle.of(ownerPid).ifPresentOrElse(owner -> owner.onExit().thenRun(() -> {
            System.out.println("owner process " + ownerPid + " ended: stopping the broker");
            System.exit(0);
        }), () -> System.exit(0));
    }
}
