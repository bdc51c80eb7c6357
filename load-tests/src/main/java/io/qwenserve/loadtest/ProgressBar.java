package io.qwenserve.loadtest;

import java.util.Locale;

/** A one-line progress bar on stderr (redrawn on a terminal; a line every ten seconds otherwise). */
final class ProgressBar {
    private final String label;
    private final double seconds;
    private final long start = System.nanoTime();
    private final boolean terminal = System.console() != null;
    private long lastLine;

    ProgressBar(String label, double seconds) {
        this.label = label;
        this.seconds = seconds;
    }

    void update(LoadRun.Progress p) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (!terminal && elapsed - lastLine < 10) {
            return;
        }
        lastLine = (long) elapsed;
        int width = 30;
        int filled = (int) Math.min(width, width * elapsed / seconds);
        String line = String.format(Locale.ROOT, "%s [%s%s] %4.0fs/%.0fs sent %d done %d failed %d in flight %d, %.1f tokens/s",
                label, "#".repeat(filled), " ".repeat(width - filled), elapsed, seconds, p.sent.get(), p.completed.get(),
                p.failed.get(), p.inFlight.get(), p.tokens.get() / Math.max(1e-9, elapsed));
        System.err.print(terminal ? "\r" + line : line + "\n");
        System.err.flush();
    }

    void finish() {
        if (terminal) {
            System.err.println();
        }
    }
}
