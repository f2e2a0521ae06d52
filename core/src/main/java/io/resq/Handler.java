package io.resq;

/**
 * Handles one payload. Returning normally acks the message; throwing fails it, and the
 * processor's retry, redelivery and dead-letter policy applies.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface Handler<T> {

    /** Handles {@code payload}; throw to fail (a {@link ProcessingException} chooses the status code). */
    void handle(T payload) throws Exception;
}
