package io.qwenserve.loadtest;

/**
 * What one request of a load run measured, in nanoseconds from the run's start.
 *
 * @param tokenTimes arrival time of each generated token (chunks carrying several tokens spread their arrival evenly
 *                   over them is not done here: each token gets its chunk's arrival time)
 * @param failure    null on success, else a short kind such as {@code UNAVAILABLE}, {@code RESOURCE_EXHAUSTED},
 *                   {@code timeout}, {@code error}
 */
public record RequestResult(String id, long start, long end, long[] tokenTimes, int outputTokens, String failure) {
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
}
