package io.resq.spi;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Sends bytes to one queue of a {@link Transport}. Thread-safe.
 */
public interface Sender {

    /**
     * Sends a batch. The future completes normally only when the broker confirmed every message
     * of the batch; it completes exceptionally (with the broker's cause) otherwise, in which case
     * some messages of the batch may still have been stored, so a caller that retries the whole
     * batch may send duplicates (delivery is at-least-once).
     *
     * <p>The future always completes within a bounded time (the transport's own send or confirm
     * timeout); resq sets no timer per message.
     *
     * <p>A body over the broker's size limit fails the future with an {@link IllegalArgumentException}
     * naming the size and the limit.
     */
    CompletableFuture<Void> send(List<Outbound> messages);

    /** Sends one message; see {@link #send(List)}. */
    default CompletableFuture<Void> send(Outbound message) {
        return send(List.of(message));
    }
}
