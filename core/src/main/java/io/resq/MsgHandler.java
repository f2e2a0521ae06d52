package io.resq;

/**
 * Handles one message with its envelope: id, key, attempt, error history and attributes.
 * Returning normally acks it; throwing fails it.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface MsgHandler<T> {

    /** Handles {@code msg}; throw to fail (a {@link ProcessingException} chooses the status code). */
    void handle(Msg<T> msg) throws Exception;
}
