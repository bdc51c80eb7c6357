package io.qwenserve.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The README's reliability table, from the tests' own runs: each fault test prints one line (and appends it to
 * {@code target/reliability-figures.tsv}): the fault, requests sent / completed / failed / lost / duplicated, the time
 * to recover, and what else the test measured.
 */
public final class FaultFigures {
    private FaultFigures() {}

    public static void report(String fault, int sent, int completed, int failed, int lost, int duplicated, long recoverMs, String notes) {
        String line = String.join("\t", fault, Integer.toString(sent), Integer.toString(completed), Integer.toString(failed),
                Integer.toString(lost), Integer.toString(duplicated), recoverMs < 0 ? "-" : Long.toString(recoverMs), notes);
        System.out.println("RELIABILITY " + line.replace('\t', '|'));
        try {
            Path out = Path.of("target", "reliability-figures.tsv");
            Files.createDirectories(out.getParent());
            Files.writeString(out, Instant.now() + "\t" + line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.err.println("could not write the figures: " + e);
        }
    }
}
