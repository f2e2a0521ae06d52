package io.resq;

/**
 * Handles messages in batches, for handlers that write to a database or an API in bulk. Set with
 * {@link ProcessorBuilder#batchHandler(BatchHandler)}; see there for how batches are formed.
 *
 * <p>Returning normally acks every message of the batch except those the handler failed with
 * {@link Batch#fail(Msg, Throwable)}, which each follow the failure path alone (redelivery, then
 * the dead-letter queue) with their own history. Throwing fails the whole batch: it is called
 * again per the processor's {@code retry} policy, and when those calls are spent every message
 * follows the failure path alone.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface BatchHandler<T> {

    /** Handles {@code batch}; throw to fail all of it, or {@link Batch#fail} single messages. */
    void handle(Batch<T> batch) throws Exception;
}
