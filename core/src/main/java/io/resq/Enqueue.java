package io.resq;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;

/**
 * The sending side of a queue. {@link #send(Object)} is synchronous: it returns once the broker
 * confirmed and throws {@link SendException} otherwise. {@link #messages()} is a best-effort channel:
 * what is put there is sent in batches with retry, and what could not be sent lands in
 * {@link #deadLetters()} with its failures — never silently dropped.
 *
 * <p>One instance is shared by every caller of {@code queues.enqueue(queue, type)} with the same
 * queue and type, and {@code Queues.close()} closes it. A message whose encoded body is over the
 * send limit (the smaller of the broker's and resq's body limit, less
 * {@link Queues#HISTORY_RESERVE_BYTES}) is refused with an {@link IllegalArgumentException} as the
 * cause, never retried.
 *
 * @param <T> the payload type
 */
public interface Enqueue<T> extends AutoCloseable {

    /** The queue this enqueue writes. */
    String queue();

    /**
     * The send channel (bounded: {@code put} blocks when resq is behind). Once closed it refuses:
     * {@code offer} returns {@code false}, {@code add} and {@code put} throw {@link IllegalStateException}.
     */
    BlockingQueue<T> messages();

    /** What the send channel could not deliver after retries. Unbounded: drain it. */
    BlockingQueue<Undelivered<T>> deadLetters();

    /** Sends {@code payload} and waits for the broker's confirmation; returns the message sent. */
    Msg<T> send(T payload);

    /** Sends {@code msg} (with its key, category and attributes) and waits for the broker's confirmation. */
    Msg<T> send(Msg<T> msg);

    /** Sends without waiting; the future fails with a {@link SendException}. */
    CompletableFuture<Msg<T>> sendAsync(T payload);

    /** Sends without waiting; the future fails with a {@link SendException}. */
    CompletableFuture<Msg<T>> sendAsync(Msg<T> msg);

    /**
     * Refuses further sends, sends what is still in the send channel (within 10 s; what is left
     * goes to {@link #deadLetters()}), then stops. Idempotent. Closes it for every holder.
     */
    @Override
    void close();
}
