package io.resq;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;

/**
 * The sending side of a queue. {@link #send(Object)} is synchronous: it returns once the broker
 * confirmed and throws {@link SendException} otherwise. {@link #messages()} is a best-effort channel:
 * what is put there is sent in batches with retry, and what could not be sent lands in
 * {@link #deadLetters()} with its failures — never silently dropped.
 *
 * @param <T> the payload type
 */
public interface Enqueue<T> extends AutoCloseable {

    /** The queue this enqueue writes. */
    String queue();

    /** The send channel (bounded: {@code put} blocks when resq is behind). */
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

    /** Sends what is still in the send channel (within a bounded time), then stops. Idempotent. */
    @Override
    void close();
}
