package io.qwenserve.engine.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The training progress line: epoch, a bar over all optimizer steps, the step's loss (mean cross-entropy per target
 * token), learning rate, tokens per second (real, unpadded tokens through forward and backward, averaged since the
 * run or resume started) and the time left. Redrawn in place on a terminal; one line per step otherwise.
 */
public final class ProgressBar {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final boolean terminal;
    private final int totalSteps;
    private final int epochs;
    private final long start = System.nanoTime();
    private final int firstStep;
    private long tokens;

    public ProgressBar(PrintStream out, boolean terminal, int totalSteps, int epochs, int firstStep) {
        this.out = out;
        this.terminal = terminal;
        this.totalSteps = totalSteps;
        this.epochs = epochs;
        this.firstStep = firstStep;
    }

    /** Tokens per second since the start. */
    public double tokensPerSecond() {
        double secs = (System.nanoTime() - start) / 1e9;
        return secs > 0 ? tokens / secs : 0;
    }

    /** After optimizer step {@code step} (1-based) of epoch {@code epoch} (1-based). */
    public void step(int epoch, int step, double loss, double lr, long stepTokens, String note) {
        tokens += stepTokens;
        if (out == null) {
            return;
        }
        double secs = (System.nanoTime() - start) / 1e9;
        int done = step - firstStep;
        double eta = done > 0 ? secs / done * (totalSteps - step) : 0;
        int filled = (int) ((long) WIDTH * step / Math.max(1, totalSteps));
        String line = String.format(Locale.ROOT, "epoch %d/%d [%s%s] %d/%d steps  loss %.4f  lr %.2e  %,.0f tok/s  eta %s%s",
                epoch, epochs, "#".repeat(filled), "-".repeat(WIDTH - filled), step, totalSteps, loss, lr, tokensPerSecond(),
                clock(eta), note == null ? "" : "  " + note);
        if (terminal) {
            out.print("\r" + line + "\u001b[K");
            if (step == totalSteps) {
                out.println();
            }
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** A message on its own line (ends a terminal's progress line first). */
    public void message(String text) {
        if (out == null) {
            return;
        }
        out.println(terminal ? "\r" + text + "\u001b[K" : text);
        out.flush();
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
