package io.qwenserve.loadtest;

import java.util.Arrays;

/** Collects token arrival times of one request; shared by the targets. */
final class TokenRecorder {
    private final long clock;
    private final long start;
    private long[] times = new long[64];
    private int n;
    private double serverTtftMs = Double.NaN;

    TokenRecorder(long clock) {
        this.clock = clock;
        this.start = System.nanoTime() - clock;
    }

    void tokens(int count) {
        long now = System.nanoTime() - clock;
        for (int i = 0; i < count; i++) {
            if (n == times.length) {
                times = Arrays.copyOf(times, n * 2);
            }
            times[n++] = now;
        }
    }

    /** The server's own TTFT for this request, where the transport reports it. */
    void serverTtft(double ms) {
        serverTtftMs = ms;
    }

    RequestResult done(String id, int outputTokens, String failure) {
        return new RequestResult(id, start, System.nanoTime() - clock, Arrays.copyOf(times, n), Math.max(outputTokens, n), failure,
                serverTtftMs);
    }
}
