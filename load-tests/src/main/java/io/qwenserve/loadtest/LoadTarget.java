package io.qwenserve.loadtest;

/** A way to reach the service (gRPC, HTTP, Kafka). Implementations are thread-safe; one call per request. */
public interface LoadTarget extends AutoCloseable {
    /**
     * Sends one request and blocks until its stream ends.
     *
     * @param clock the run's clock: {@code System.nanoTime() - clock} is the time since the run started
     */
    RequestResult send(RequestSpec spec, long clock);

    /** The target's name as {@code --target} spells it. */
    String name();

    /** Figures only this transport has (e.g. duplicate replies dropped), added to {@code summary.json}. */
    default java.util.Map<String, Number> extraFigures() {
        return java.util.Map.of();
    }

    @Override
    default void close() throws Exception {}
}
