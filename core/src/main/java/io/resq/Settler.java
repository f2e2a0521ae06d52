package io.resq;

import io.resq.internal.DecodeException;
import io.resq.internal.MsgCodec;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles a failed delivery: redelivery through the broker while the policy allows, the
 * dead-letter queue after that, and for an undecodable body the dead-letter queue at once with
 * the body kept byte for byte. The original is acked only after the broker confirmed the copy, so
 * a message is never lost between the two; if the copy cannot be sent, the original is released
 * and comes back. Stateless apart from its collaborators: safe for any thread.
 *
 * @param <T> the payload type
 */
final class Settler<T> {

    private static final Logger LOG = LoggerFactory.getLogger(Settler.class);
    /** How long to wait for the broker to confirm a redelivery or dead letter. */
    private static final long CONFIRM_TIMEOUT_SECONDS = 30;

    /** What became of a failed delivery. */
    enum Outcome { REDELIVERED, DEAD_LETTERED, RELEASED }

    private final MsgCodec<T> codec;
    private final Transport transport;
    private final String queue;
    // Created on first use: a transport may create the queue with its sender, and a reader of a
    // dead-letter queue should not create that queue's own dead-letter queue.
    private volatile Sender retrySender;
    private volatile Sender deadLetterSender;
    private final String deadLetterQueue;
    private final RetryPolicy redelivery;
    private final Listener listener;
    private final boolean delays;

    Settler(Transport transport, MsgCodec<T> codec, String queue, String deadLetterQueue, RetryPolicy redelivery, Listener listener) {
        this.codec = codec;
        this.transport = transport;
        this.queue = queue;
        this.deadLetterQueue = deadLetterQueue;
        this.redelivery = redelivery;
        this.listener = listener;
        this.delays = transport.capabilities().contains(io.resq.spi.Capability.DELAYED_DELIVERY);
    }

    private Sender retrySender() {
        Sender s = retrySender;
        if (s == null) {
            s = transport.sender(queue);
            retrySender = s;
        }
        return s;
    }

    private Sender deadLetterSender() {
        Sender s = deadLetterSender;
        if (s == null) {
            s = transport.sender(deadLetterQueue);
            deadLetterSender = s;
        }
        return s;
    }

    /** Redelivers or dead-letters {@code msg}, whose delivery failed with {@code error} (recorded as {@code failure}). */
    Outcome fail(Delivery delivery, Msg<T> msg, Throwable error, Failure failure) {
        List<Failure> history = Msg.withFailure(msg.errors(), failure);
        boolean retryable = redelivery.isRetryable(error);
        if (retryable && msg.attempt() < redelivery.maxAttempts()) {
            Duration delay = delays ? redelivery.delayAfter(msg.attempt()) : Duration.ZERO;
            Msg<T> next = msg.toBuilder().clearErrors().errors(history).attempt(msg.attempt() + 1).build();
            if (confirm(retrySender(), codec.encode(next, delay), delivery, msg)) {
                listener.onRedelivered(msg, failure, delay);
                return Outcome.REDELIVERED;
            }
            return Outcome.RELEASED;
        }
        Msg<T> dead = msg.toBuilder().clearErrors().errors(history).build();
        if (confirm(deadLetterSender(), codec.encode(dead, Duration.ZERO), delivery, msg)) {
            listener.onDeadLettered(msg, failure, deadLetterQueue);
            return Outcome.DEAD_LETTERED;
        }
        return Outcome.RELEASED;
    }

    /** Sends an undecodable delivery to the dead-letter queue with status 400, its body unchanged. */
    Outcome undecodable(Delivery delivery, DecodeException error, Instant now) {
        Failure failure = Failure.of(error, now);
        Outbound copy = MsgCodec.rawCopy(delivery.id(), delivery.key(), delivery.body(), List.of(failure), now);
        if (confirm(deadLetterSender(), copy, delivery, null)) {
            Msg.Builder<byte[]> raw = Msg.builder(delivery.body()).queue(deadLetterQueue).dispatchedAt(now).errors(List.of(failure));
            if (delivery.id() != null && !delivery.id().isBlank()) {
                raw.id(delivery.id());
            }
            listener.onDeadLettered(raw.key(delivery.key()).build(), failure, deadLetterQueue);
            return Outcome.DEAD_LETTERED;
        }
        return Outcome.RELEASED;
    }

    /**
     * Hands {@code delivery} back to the broker after a back-off instead of at once, because
     * something other than its handler failed ({@code cause}). Never blocks.
     */
    void releaseLater(Delivery delivery, Throwable cause) {
        release(delivery, delivery.id(), cause instanceof Exception e ? e : new RuntimeException(cause));
    }

    /** Releases at once every delivery still waiting for a deferred release; called by the owner's close(). */
    void close() {
    }

    private boolean confirm(Sender sender, Outbound copy, Delivery original, Msg<T> msg) {
        try {
            sender.send(copy).get(CONFIRM_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            original.ack();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            release(original, copy.id(), e);
            return false;
        } catch (Exception e) {
            release(original, copy.id(), e);
            return false;
        }
    }

    private static void release(Delivery original, String id, Exception cause) {
        LOG.error("could not move message {} (to retry or dead-letter), releasing it to the broker to try again: {}", id, cause.toString());
        try {
            original.release();
        } catch (RuntimeException e) {
            LOG.warn("release of {} failed too; the broker will redeliver it when the connection closes", id, e);
        }
    }
}
