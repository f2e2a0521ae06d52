package io.resq;

/**
 * A running consumer: fetches from one queue and runs a handler on each message with retry,
 * redelivery, dead letters, circuit breaker, timeout and per-key ordering. Built with
 * {@link Queues#processor(String, Class)}.
 *
 * <p>{@link #close()} stops fetching, lets running handlers finish within the drain timeout and
 * hands everything else back to the broker unacked. Register a JVM shutdown hook that closes the
 * {@link Queues} if you want a SIGTERM to drain: resq installs none of its own.
 *
 * @param <T> the payload type
 */
public interface Processor<T> extends AutoCloseable {

    /** The queue this processor consumes. */
    String queue();

    /** Counters, circuit state and last failure, as in {@link Queues#health()}. */
    ProcessorHealth health();

    /** Stops as described above. Idempotent. */
    @Override
    void close();
}
