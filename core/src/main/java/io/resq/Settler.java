package io.resq;

import io.resq.internal.DecodeException;
import io.resq.internal.Headers;
import io.resq.internal.MsgCodec;
import io.resq.internal.PayloadTypeException;
import io.resq.spi.Capability;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles a failed delivery: redelivery through the broker while the policy allows, the
 * dead-letter queue after that, and for an undecodable body the dead-letter queue at once. The
 * original is acked only after the broker confirmed the copy, so a message is never lost between
 * the two.
 *
 * <p>When a copy cannot be written (the broker refuses it, its sender cannot be made, it cannot be
 * encoded), the original goes back to the broker only after a back-off ({@link DeferredReleases}),
 * never at once, so a handler's side effects do not repeat in a tight loop; refusals are logged at
 * ERROR at most once per {@link #REFUSAL_LOG_INTERVAL} and counted ({@link #refusedCopies()}).
 * A copy that would outgrow the broker's limit is shrunk ({@link CopyFitter}).
 *
 * <p>Thread-safe: workers, a dequeue's ack thread and callers of nack share one instance.
 *
 * @param <T> the payload type
 */
final class Settler<T> {

    private static final Logger LOG = LoggerFactory.getLogger(Settler.class);
    /** How long to wait for the broker to confirm a redelivery or dead letter. */
    private static final long CONFIRM_TIMEOUT_SECONDS = 30;
    /** The shortest wait before a delivery whose copy was refused goes back to the broker. */
    static final Duration MIN_RELEASE_DELAY = Duration.ofSeconds(1);
    /** The longest such wait, so a long redelivery delay does not hold a prefetch slot for hours. */
    static final Duration MAX_RELEASE_DELAY = Duration.ofMinutes(1);
    /** Refused copies are logged at ERROR at most once per this interval. */
    static final Duration REFUSAL_LOG_INTERVAL = Duration.ofSeconds(10);

    /** What became of a failed delivery. */
    enum Outcome {
        REDELIVERED, DEAD_LETTERED,
        /** Released at once (only by {@link #close()}). */
        RELEASED,
        /** Its copy was refused: it goes back to the broker after a back-off, and the callback runs then. */
        RELEASED_LATER
    }

    private final MsgCodec<T> codec;
    /** The attribute of a dead letter that names the consumer group that gave it up. */
    static final String GROUP_ATTRIBUTE = "resq-group";

    private final Transport transport;
    private final String queue;
    // Created on first use: a transport may create the queue with its sender, and a reader of a
    // dead-letter queue should not create that queue's own dead-letter queue.
    private volatile Sender retrySender;
    private volatile Sender deadLetterSender;
    private final String deadLetterQueue;
    private final String group;
    private final RetryPolicy redelivery;
    private final Listener listener;
    private final Clock clock;
    private final boolean delays;
    private final CopyFitter fitter;
    private final DeferredReleases later = new DeferredReleases();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong refusedSinceLog = new AtomicLong();
    private volatile long lastRefusalLog = System.nanoTime() - REFUSAL_LOG_INTERVAL.toNanos();
    private volatile Failure lastRefusal;

    Settler(Transport transport, MsgCodec<T> codec, String queue, String deadLetterQueue, RetryPolicy redelivery, Listener listener) {
        this(transport, codec, queue, null, deadLetterQueue, redelivery, listener, Clock.systemUTC());
    }

    /**
     * @param group the consumer group whose failures this settles, or {@code null} when none was
     *              named: redelivery copies are addressed to it, and dead letters record it
     */
    Settler(Transport transport, MsgCodec<T> codec, String queue, String group, String deadLetterQueue, RetryPolicy redelivery,
            Listener listener, Clock clock) {
        this.group = group;
        this.codec = codec;
        this.transport = transport;
        this.queue = queue;
        this.deadLetterQueue = deadLetterQueue;
        this.redelivery = redelivery;
        this.listener = Listeners.of(listener, null);
        this.clock = clock;
        this.delays = transport.capabilities().contains(Capability.DELAYED_DELIVERY);
        this.fitter = new CopyFitter(codec, Math.min(transport.maxBodySize(), codec.maxBodySize()));
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

    /** Copies refused so far (the broker down, a missing queue, a copy that could not be built). */
    long refusedCopies() {
        return refused.get();
    }

    /** The most recent refusal, or {@code null}. */
    Failure lastRefusal() {
        return lastRefusal;
    }

    /** {@link #fail(Delivery, Msg, Throwable, Failure, Runnable)} with nothing to run on a deferred release. */
    Outcome fail(Delivery delivery, Msg<T> msg, Throwable error, Failure failure) {
        return fail(delivery, msg, error, failure, () -> { });
    }

    /**
     * Redelivers or dead-letters {@code msg}, whose delivery failed with {@code error} (recorded as
     * {@code failure}). When the outcome is {@link Outcome#RELEASED_LATER}, {@code whenReleased}
     * runs once the delivery went back to the broker; otherwise it never runs.
     */
    Outcome fail(Delivery delivery, Msg<T> msg, Throwable error, Failure failure, Runnable whenReleased) {
        try {
            List<Failure> history = Msg.withFailure(msg.errors(), failure);
            if (redelivery.isRetryable(error) && msg.attempt() < redelivery.maxAttempts()) {
                Duration delay = delays ? delayFor(error, msg.attempt()) : Duration.ZERO;
                Msg<T> next = msg.copy().clearErrors().errors(history).attempt(msg.attempt() + 1).build();
                Outbound out = fitter.fit(next, delay);
                if (out == null) {
                    return tooLarge(delivery, msg, failure, whenReleased);
                }
                // The copy belongs to the group that failed: other groups handled (or will handle) the original.
                Throwable refusal = confirm(retrySender(), out.withGroup(group));
                if (refusal == null) {
                    ack(delivery, msg.id());
                    listener.onRedelivered(msg, failure, delay);
                    return Outcome.REDELIVERED;
                }
                return refusal instanceof IllegalArgumentException ? tooLarge(delivery, msg, failure, whenReleased)
                        : refused(delivery, msg, refusal, whenReleased);
            }
            Msg<T> dead = recordGroup(msg.copy().clearErrors().errors(history)).build();
            Outbound out = fitter.fit(dead, Duration.ZERO);
            if (out == null) {
                return tooLarge(delivery, msg, failure, whenReleased);
            }
            return deadLetter(delivery, out, msg, dead, failure, whenReleased);
        } catch (RuntimeException | StackOverflowError e) {
            // Building, encoding or the sender itself threw: not the message's fault, try again later.
            return refused(delivery, msg, e, whenReleased);
        }
    }

    /** The policy's delay, or the one a {@link RetryLaterException} asked for, cut to the policy's {@code maxDelay}. */
    private Duration delayFor(Throwable error, int attempt) {
        if (error instanceof RetryLaterException later) {
            Duration max = redelivery.maxDelay();
            return max != null && later.delay().compareTo(max) > 0 ? max : later.delay();
        }
        return redelivery.delayAfter(attempt);
    }

    /** {@link #undecodable(Delivery, DecodeException, Instant, Runnable)} with nothing to run on a deferred release. */
    Outcome undecodable(Delivery delivery, DecodeException error, Instant now) {
        return undecodable(delivery, error, now, () -> { });
    }

    /**
     * Sends an undecodable delivery to the dead-letter queue with status 400: a valid envelope whose
     * payload does not bind as that envelope with the 400 appended to its history, anything else
     * byte for byte with the 400 in headers.
     */
    Outcome undecodable(Delivery delivery, DecodeException error, Instant now, Runnable whenReleased) {
        try {
            Failure failure = Failure.of(error, now);
            if (error instanceof PayloadTypeException wrong) {
                Msg<byte[]> envelope = wrong.envelope();
                Msg<byte[]> dead = recordGroup(envelope.copy().clearErrors().errors(Msg.withFailure(envelope.errors(), failure))).build();
                Outbound out = fitter.fitReceived(dead);
                if (out != null) {
                    return deadLetter(delivery, out, envelope, dead, failure, whenReleased);
                }
            }
            Outbound copy = recordGroup(MsgCodec.rawCopy(delivery.id(), delivery.key(), delivery.body(),
                    List.of(CopyFitter.withoutStackTrace(failure)), now, delivery.headers()));
            return deadLetter(delivery, copy, null, rawMsg(delivery, now, failure), failure, whenReleased);
        } catch (RuntimeException | StackOverflowError e) {
            return refused(delivery, null, e, whenReleased);
        }
    }

    /** The last resort for a copy that cannot fit: the body as it arrived goes to the dead-letter queue with a 413. */
    private Outcome tooLarge(Delivery delivery, Msg<T> msg, Failure failure, Runnable whenReleased) {
        Instant now = clock.instant();
        Failure why = new Failure(413, "resq.too-large", "a copy of this message with its error history is over the limit of "
                + fitter.limit() + " bytes even with the history shrunk; the body is kept as it arrived", "", now);
        List<Failure> errors = List.of(CopyFitter.withoutStackTrace(failure), why);
        Outbound copy = recordGroup(MsgCodec.rawCopy(msg.id(), delivery.key(), delivery.body(), errors, msg.dispatchedAt(), msg.headers()));
        return deadLetter(delivery, copy, msg, rawMsg(delivery, now, why), why, whenReleased);
    }

    /** A dead letter says which group gave it up: the attribute {@value #GROUP_ATTRIBUTE}. */
    private <P> Msg.Builder<P> recordGroup(Msg.Builder<P> dead) {
        return group == null ? dead : dead.attribute(GROUP_ATTRIBUTE, group);
    }

    /** The same for a raw copy, whose attributes travel as headers. */
    private Outbound recordGroup(Outbound raw) {
        return group == null ? raw : raw.withHeader(Headers.ATTRIBUTE_PREFIX + GROUP_ATTRIBUTE, group);
    }

    private Outcome deadLetter(Delivery delivery, Outbound copy, Msg<?> original, Msg<?> reported, Failure failure, Runnable whenReleased) {
        Throwable refusal = confirm(deadLetterSender(), copy);
        if (refusal != null) {
            return refused(delivery, original, refusal, whenReleased);
        }
        ack(delivery, copy.id());
        listener.onDeadLettered(original != null ? original : reported, failure, deadLetterQueue);
        return Outcome.DEAD_LETTERED;
    }

    private Msg<byte[]> rawMsg(Delivery delivery, Instant now, Failure failure) {
        Msg.Builder<byte[]> raw = Msg.builder(delivery.body()).queue(deadLetterQueue).dispatchedAt(now).errors(List.of(failure));
        if (delivery.id() != null && !delivery.id().isBlank()) {
            raw.id(delivery.id());
        }
        return raw.key(delivery.key()).build();
    }

    /** Hands {@code delivery} back to the broker after a back-off: something other than its handler failed. Never blocks. */
    void releaseLater(Delivery delivery, Throwable cause) {
        refused(delivery, null, cause, () -> { });
    }

    /** Hands {@code delivery} back after a back-off and runs {@code whenReleased} then. Never blocks. */
    void releaseLater(Delivery delivery, Throwable cause, Runnable whenReleased) {
        refused(delivery, null, cause, whenReleased);
    }

    /** Releases at once every delivery still waiting for a deferred release; called by the owner's close(). */
    void close() {
        later.releaseAll();
    }

    /** Deliveries waiting for a deferred release now. */
    int waitingForRelease() {
        return later.size();
    }

    private Outcome refused(Delivery delivery, Msg<?> msg, Throwable cause, Runnable whenReleased) {
        refused.incrementAndGet();
        long since = refusedSinceLog.incrementAndGet();
        lastRefusal = Failure.of(cause, clock.instant());
        Duration delay = releaseDelay(msg);
        long now = System.nanoTime();
        long last = lastRefusalLog;
        if (now - last >= REFUSAL_LOG_INTERVAL.toNanos()) {
            lastRefusalLog = now;
            refusedSinceLog.addAndGet(-since);
            LOG.error("could not write the retry or dead-letter copy of a message of {} ({} such refusals since the last report);"
                    + " message {} goes back to the broker in {} ms: {}", queue, since, delivery.id(), delay.toMillis(), describe(cause));
        }
        later.schedule(delivery, delay, whenReleased);
        return Outcome.RELEASED_LATER;
    }

    private Duration releaseDelay(Msg<?> msg) {
        Duration d = redelivery.delayAfter(msg == null ? 1 : Math.max(1, msg.attempt()));
        if (d.compareTo(MIN_RELEASE_DELAY) < 0) {
            return MIN_RELEASE_DELAY;
        }
        return d.compareTo(MAX_RELEASE_DELAY) > 0 ? MAX_RELEASE_DELAY : d;
    }

    /** Sends and waits for the broker; {@code null} when confirmed, else why not. */
    private static Throwable confirm(Sender sender, Outbound copy) {
        try {
            sender.send(copy).get(CONFIRM_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e;
        } catch (ExecutionException | CompletionException e) {
            return e.getCause() != null ? e.getCause() : e;
        } catch (Exception e) {
            return e;
        }
    }

    private void ack(Delivery original, String id) {
        try {
            original.ack();
        } catch (RuntimeException e) {
            // The copy is stored; the original comes back and is handled again: a duplicate, never a loss.
            LOG.warn("ack of {} on {} failed after its copy was stored; it will be delivered again: {}", id, queue, e.toString());
        }
    }

    private static String describe(Throwable e) {
        return e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
