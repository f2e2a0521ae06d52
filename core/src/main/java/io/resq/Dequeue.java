package io.resq;

import java.util.concurrent.BlockingQueue;
import java.util.stream.Stream;

/**
 * The receiving side of a queue, as channels: take messages from {@link #messages()}, settle each
 * by putting it (or {@code msg.failed(e)}) into {@link #acks()}, or call {@link #ack} / {@link #nack}.
 * A failed message follows the redelivery and dead-letter policy of its {@link Queues}.
 *
 * <p>The receive channel is bounded by the prefetch: resq fetches only what there is room for.
 * {@link #close()} stops fetching and hands every unsettled message back to the broker.
 *
 * @param <T> the payload type
 */
public interface Dequeue<T> extends AutoCloseable {

    /** The queue this dequeue reads. */
    String queue();

    /**
     * The receive channel, filled by resq only ({@code add}, {@code offer} and {@code put} throw
     * {@link UnsupportedOperationException}). After {@link #close()}, {@code take()} on the empty
     * channel throws {@link IllegalStateException} and {@code poll(timeout)} returns {@code null} at once.
     */
    BlockingQueue<Msg<T>> messages();

    /**
     * The messages as they arrive, as a sequential stream that ends once this dequeue is closed and
     * every message it had received was taken: the {@code for ... range} of a Go channel. Each
     * message still has to be settled ({@link #ack}, {@link #nack} or {@link #acks()}). A thread
     * interrupted while it waits ends the stream too, with its interrupt flag set.
     *
     * <pre>{@code
     * dequeue.stream().forEach(msg -> { handle(msg.payload()); dequeue.ack(msg); });
     * }</pre>
     */
    Stream<Msg<T>> stream();

    /**
     * The ack channel: put a received message to ack it, or {@code msg.failed(e)} to fail it. A
     * failed message's redelivery or dead-letter copy is sent while the channel goes on with the
     * next message; the original is acked once the broker confirmed the copy (or goes back to the
     * broker after a back-off when the copy was refused). At most prefetch copies are in flight at
     * once. {@link #close()} waits up to 10 s for copies in flight; the originals of those still
     * unconfirmed then go back to the broker unacked (a duplicate if the copy lands late, never a loss).
     */
    BlockingQueue<Msg<T>> acks();

    /** Acks a received message now. */
    void ack(Msg<T> msg);

    /**
     * Fails a received message now: it is redelivered with {@code error} in its history, or
     * dead-lettered. Returns once the broker confirmed the copy and the message was acked (or, when
     * the copy was refused, once its release after a back-off was scheduled): the calling thread
     * waits for the broker, up to 30 s.
     */
    void nack(Msg<T> msg, Throwable error);

    /** Stops fetching and releases every unsettled message. Idempotent. */
    @Override
    void close();
}
