package io.resq;

import io.resq.spi.Health;

/**
 * A processor's state at one moment.
 *
 * @param queue        the queue it consumes
 * @param group        the consumer group named with {@code group(...)}, or {@code null} when none was (Kafka then uses its configured {@code group.id})
 * @param running      false once closed
 * @param circuitState the circuit breaker's state (CLOSED, OPEN, HALF_OPEN, ...) or DISABLED
 * @param inFlight     messages fetched and not yet settled
 * @param succeeded    messages handled and acked
 * @param retried      in-process retries
 * @param redelivered  messages sent back to the broker for a later delivery
 * @param deadLettered messages sent to the dead-letter queue
 * @param lastFailure  the most recent failure, or {@code null}
 * @param refusedCopies retry and dead-letter copies the broker refused (or that could not be
 *                      built); each such delivery went back to the broker after a back-off
 * @param receiver     whether its receiver is receiving: DOWN with the cause while the transport
 *                     recovers it (a failed consumer or connection), as of the last poll
 */
public record ProcessorHealth(String queue, String group, boolean running, String circuitState, int inFlight,
                              long succeeded, long retried, long redelivered, long deadLettered, Failure lastFailure,
                              long refusedCopies, Health receiver) {
}
