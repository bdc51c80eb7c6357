package io.qwenserve.loadtest;

/**
 * What one request of a load run measured, in nanoseconds from the run's start.
 *
 * @param tokenTimes arrival time of each generated token (chunks carrying several tokens spread their arrival evenly
 *                   over them is not done here: each token gets its chunk's arrival time)
 * @param failure    null on success, else a short kind such as {@code UNAVAILABLE}, {@code RESOURCE_EXHAUSTED},
 *                   {@code timeout}, {@code error}
 * @param serverTtftMs the server's own time to first token (submission to the engine until its first token, from the
 *                   final message's timings), or NaN where the transport does not report it; the client's TTFT minus
 *                   this is what the transport added
 */
public record RequestResult(String id, long start, long end, long[] tokenTimes, int outputTokens, String failure, double serverTtftMs) {
    public RequestResult(String id, long start, long end, long[] tokenTimes, int outputTokens, String failure) {
        this(id, start, end, tokenTimes, outputTokens, failure, Double.NaN);
    }

    public boolean ok() {
        return failure == null;
    }

    /** Time to first token in ms, or NaN when no token came. */
    public double ttftMs() {
        return tokenTimes.length == 0 ? Double.NaN : (tokenTimes[0] - start) / 1e6;
    }

    public double e2eMs() {
        return (end - start) / 1e6;
    }

    /** Client TTFT minus the server's, in ms; NaN when either is unknown. */
    public double addedTtftMs() {
        return ttftMs() - serverTtftMs;
    }
}
