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
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
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
 * <p>Two ways to wait for the broker. {@link #fail(Delivery, Msg, Throwable, Failure, Runnable)} and
 * {@link #undecodable(Delivery, DecodeException, Instant, Runnable)} wait on the calling thread and
 * return the outcome (a dequeue's {@code nack} and ack thread). {@link #failAsync} and
 * {@link #undecodableAsync} return once the copy is handed to the broker: the caller (a processor's
 * worker) goes on with its next message while the copy is in flight, and the rest (the ack of the
 * original, the listener, the caller's own callback) runs once the broker answered, on the
 * {@link Executor} the caller gave, never on the broker client's thread that completed the send.
 * The original stays unacked until then. {@link #awaitCopies} and {@link #close()} let the owner's
 * close wait for copies in flight and release the originals of those still unconfirmed.
 *
 * <p>Thread-safe: workers, a processor's settle threads, a dequeue's ack thread and callers of nack
 * share one instance. Each delivery is settled once: a copy in flight is a {@link Settling} whose
 * {@link Settling#claim()} decides between its completion and {@link #close()}.
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
    /** The copies in flight of {@link #failAsync} and {@link #undecodableAsync}: until their completion ran, or close() released them. */
    private final Set<Settling> flights = ConcurrentHashMap.newKeySet();
    /** Notified whenever a copy in flight is settled, for {@link #awaitCopies}. */
    private final Object landed = new Object();
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
     * {@code failure}), waiting on the calling thread for the broker to confirm the copy. When the
     * outcome is {@link Outcome#RELEASED_LATER}, {@code whenReleased} runs once the delivery went back
     * to the broker; otherwise it never runs.
     */
    Outcome fail(Delivery delivery, Msg<T> msg, Throwable error, Failure failure, Runnable whenReleased) {
        Settling s = new Settling(delivery, msg, null, null, whenReleased);
        fail(s, msg, error, failure);
        return s.outcome;
    }

    /**
     * Like {@link #fail(Delivery, Msg, Throwable, Failure, Runnable)}, but returns as soon as the copy
     * is handed to the broker. {@code then} runs exactly once with the outcome: on {@code completions}
     * once the broker answered (after the original was acked and the listener told), on the calling
     * thread when no copy could be sent at all, or with {@link Outcome#RELEASED} on the thread of
     * {@link #close()} for a copy still unconfirmed then. For {@link Outcome#RELEASED_LATER},
     * {@code whenReleased} runs later, once the delivery went back to the broker.
     */
    void failAsync(Delivery delivery, Msg<T> msg, Throwable error, Failure failure, Executor completions, Consumer<Outcome> then,
                   Runnable whenReleased) {
        Settling s = new Settling(delivery, msg, Objects.requireNonNull(completions, "completions"), then, whenReleased);
        flights.add(s);
        fail(s, msg, error, failure);
    }

    private void fail(Settling s, Msg<T> msg, Throwable error, Failure failure) {
        try {
            List<Failure> history = Msg.withFailure(msg.errors(), failure);
            if (redelivery.isRetryable(error) && msg.attempt() < redelivery.maxAttempts()) {
                Duration delay = delays ? delayFor(error, msg.attempt()) : Duration.ZERO;
                Msg<T> next = msg.copy().clearErrors().errors(history).attempt(msg.attempt() + 1).build();
                Outbound out = fitter.fit(next, delay);
                if (out == null) {
                    tooLarge(s, msg, failure);
                    return;
                }
                // The copy belongs to the group that failed: other groups handled (or will handle) the original.
                send(s, retrySender(), out.withGroup(group), refusal -> {
                    if (refusal == null) {
                        confirmed(s, msg.id(), () -> listener.onRedelivered(msg, failure, delay), Outcome.REDELIVERED);
                    } else if (refusal instanceof IllegalArgumentException) {
                        tooLarge(s, msg, failure);
                    } else {
                        refused(s, msg, refusal);
                    }
                });
                return;
            }
            Msg<T> dead = recordGroup(msg.copy().clearErrors().errors(history)).build();
            Outbound out = fitter.fit(dead, Duration.ZERO);
            if (out == null) {
                tooLarge(s, msg, failure);
                return;
            }
            deadLetter(s, out, msg, dead, failure);
        } catch (RuntimeException | StackOverflowError e) {
            // Building, encoding or the sender itself threw: not the message's fault, try again later.
            refused(s, msg, e);
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
     * Sends an undecodable delivery to the dead-letter queue with status 400, waiting on the calling
     * thread for the broker: a valid envelope whose payload does not bind as that envelope with the
     * 400 appended to its history, anything else byte for byte with the 400 in headers.
     */
    Outcome undecodable(Delivery delivery, DecodeException error, Instant now, Runnable whenReleased) {
        Settling s = new Settling(delivery, null, null, null, whenReleased);
        undecodable(s, error, now);
        return s.outcome;
    }

    /** Like {@link #undecodable(Delivery, DecodeException, Instant, Runnable)}, without waiting: see {@link #failAsync}. */
    void undecodableAsync(Delivery delivery, DecodeException error, Instant now, Executor completions, Consumer<Outcome> then,
                          Runnable whenReleased) {
        Settling s = new Settling(delivery, null, Objects.requireNonNull(completions, "completions"), then, whenReleased);
        flights.add(s);
        undecodable(s, error, now);
    }

    private void undecodable(Settling s, DecodeException error, Instant now) {
        Delivery delivery = s.delivery;
        try {
            Failure failure = Failure.of(error, now);
            if (error instanceof PayloadTypeException wrong) {
                Msg<byte[]> envelope = wrong.envelope();
                Msg<byte[]> dead = recordGroup(envelope.copy().clearErrors().errors(Msg.withFailure(envelope.errors(), failure))).build();
                Outbound out = fitter.fitReceived(dead);
                if (out != null) {
                    deadLetter(s, out, envelope, dead, failure);
                    return;
                }
            }
            Outbound copy = recordGroup(MsgCodec.rawCopy(delivery.id(), delivery.key(), delivery.body(),
                    List.of(CopyFitter.withoutStackTrace(failure)), now, delivery.headers()));
            deadLetter(s, copy, null, rawMsg(delivery, now, failure), failure);
        } catch (RuntimeException | StackOverflowError e) {
            refused(s, null, e);
        }
    }

    /** The last resort for a copy that cannot fit: the body as it arrived goes to the dead-letter queue with a 413. */
    private void tooLarge(Settling s, Msg<T> msg, Failure failure) {
        Delivery delivery = s.delivery;
        Instant now = clock.instant();
        Failure why = new Failure(413, "resq.too-large", "a copy of this message with its error history is over the limit of "
                + fitter.limit() + " bytes even with the history shrunk; the body is kept as it arrived", "", now);
        List<Failure> errors = List.of(CopyFitter.withoutStackTrace(failure), why);
        Outbound copy = recordGroup(MsgCodec.rawCopy(msg.id(), delivery.key(), delivery.body(), errors, msg.dispatchedAt(), msg.headers()));
        deadLetter(s, copy, msg, rawMsg(delivery, now, why), why);
    }

    /** A dead letter says which group gave it up: the attribute {@value #GROUP_ATTRIBUTE}. */
    private <P> Msg.Builder<P> recordGroup(Msg.Builder<P> dead) {
        return group == null ? dead : dead.attribute(GROUP_ATTRIBUTE, group);
    }

    /** The same for a raw copy, whose attributes travel as headers. */
    private Outbound recordGroup(Outbound raw) {
        return group == null ? raw : raw.withHeader(Headers.ATTRIBUTE_PREFIX + GROUP_ATTRIBUTE, group);
    }

    private void deadLetter(Settling s, Outbound copy, Msg<?> original, Msg<?> reported, Failure failure) {
        send(s, deadLetterSender(), copy, refusal -> {
            if (refusal != null) {
                refused(s, original, refusal);
            } else {
                confirmed(s, copy.id(), () -> listener.onDeadLettered(original != null ? original : reported, failure, deadLetterQueue),
                        Outcome.DEAD_LETTERED);
            }
        });
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
        releaseLater(delivery, cause, () -> { });
    }

    /** Hands {@code delivery} back after a back-off and runs {@code whenReleased} then. Never blocks. */
    void releaseLater(Delivery delivery, Throwable cause, Runnable whenReleased) {
        refused(new Settling(delivery, null, null, null, whenReleased), null, cause);
    }

    /**
     * Waits up to {@code timeout} until no copy of {@link #failAsync} or {@link #undecodableAsync} is
     * in flight (each has been settled: acked after its confirm, or scheduled for a deferred
     * release); returns whether none is. The owner's close() calls it after its workers stopped, so
     * no copy starts meanwhile.
     */
    boolean awaitCopies(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (landed) {
            while (!flights.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(landed, left);
            }
        }
        return true;
    }

    /** Copies in flight now. */
    int copiesInFlight() {
        return flights.size();
    }

    /**
     * Called by the owner's close(): releases at once the original of every copy still unconfirmed
     * (the copy may still land: a duplicate then, never a loss; its late confirm changes nothing) and
     * every delivery still waiting for a deferred release.
     */
    void close() {
        for (Settling s : flights) {
            if (s.claim()) {
                try {
                    s.delivery.release();
                } catch (RuntimeException e) {
                    LOG.warn("release of {} failed; the broker delivers it again when the receiver closes: {}", s.delivery.id(), e.toString());
                }
                LOG.info("closing {}: the broker had not confirmed the retry or dead-letter copy of {}; its original goes back to the"
                        + " broker unacked", queue, s.delivery.id());
                end(s, Outcome.RELEASED);
            }
        }
        later.releaseAll();
    }

    /** Deliveries waiting for a deferred release now. */
    int waitingForRelease() {
        return later.size();
    }

    private void refused(Settling s, Msg<?> msg, Throwable cause) {
        if (!s.claim()) {
            return;
        }
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
                    + " message {} goes back to the broker in {} ms: {}", queue, since, s.delivery.id(), delay.toMillis(), describe(cause));
        }
        later.schedule(s.delivery, delay, s.whenReleased);
        end(s, Outcome.RELEASED_LATER);
    }

    /** The broker confirmed the copy: the original is acked, then the listener is told. */
    private void confirmed(Settling s, String id, Runnable tellListener, Outcome outcome) {
        if (!s.claim()) {
            // close() released the original meanwhile: the copy landed too, a duplicate, never a loss.
            return;
        }
        ack(s.delivery, id);
        tellListener.run();
        end(s, outcome);
    }

    /** The delivery is settled: the caller learns the outcome; a copy in flight is one no longer. */
    private void end(Settling s, Outcome outcome) {
        s.outcome = outcome;
        try {
            if (s.then != null) {
                s.then.accept(outcome);
            }
        } finally {
            if (s.completions != null) {
                landed(s);
            }
        }
    }

    /** {@code s} is no longer in flight; wakes {@link #awaitCopies}. Returns whether it was. */
    private boolean landed(Settling s) {
        if (!flights.remove(s)) {
            return false;
        }
        synchronized (landed) {
            landed.notifyAll();
        }
        return true;
    }

    private Duration releaseDelay(Msg<?> msg) {
        Duration d = redelivery.delayAfter(msg == null ? 1 : Math.max(1, msg.attempt()));
        if (d.compareTo(MIN_RELEASE_DELAY) < 0) {
            return MIN_RELEASE_DELAY;
        }
        return d.compareTo(MAX_RELEASE_DELAY) > 0 ? MAX_RELEASE_DELAY : d;
    }

    /**
     * Sends {@code copy} and gives {@code then} {@code null} once the broker confirmed it, else why
     * not. Without an executor in {@code s} this waits on the calling thread and runs {@code then}
     * there; with one it returns at once, and {@code then} runs on that executor (the thread that
     * completes the send's future is the broker client's: it only hands the outcome over). Whatever
     * {@code then} throws releases the delivery after a back-off.
     */
    private void send(Settling s, Sender sender, Outbound copy, Consumer<Throwable> then) {
        if (s.completions == null) {
            complete(s, then, confirm(sender, copy));
            return;
        }
        CompletableFuture<Void> confirmed;
        try {
            // A copy of the transport's future carries the timeout, so the transport's own is left as it is.
            confirmed = sender.send(copy).copy().orTimeout(CONFIRM_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (RuntimeException e) {
            complete(s, then, e);
            return;
        }
        confirmed.whenComplete((ok, e) -> {
            try {
                s.completions.execute(() -> complete(s, then, e == null ? null : unwrap(e)));
            } catch (RejectedExecutionException closed) {
                // The owner closed without waiting for this copy (its worker outlived the drain): the original
                // stays unacked, so the broker delivers it again; the copy may have landed too.
                if (landed(s)) {
                    LOG.warn("the copy of {} on {} was answered after its processor closed; the original is delivered again",
                            s.delivery.id(), queue);
                }
            }
        });
    }

    private void complete(Settling s, Consumer<Throwable> then, Throwable refusal) {
        try {
            then.accept(refusal);
        } catch (RuntimeException | StackOverflowError e) {
            refused(s, s.msg, e);
        }
    }

    private static Throwable unwrap(Throwable e) {
        return (e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null ? e.getCause() : e;
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

    /**
     * One failed delivery being settled. In the waiting methods it lives on the calling thread only.
     * For a copy in flight, the caller's thread builds and sends it, then the completion (on
     * {@link #completions}) or {@link #close()} settles it: whichever {@link #claim()}s it first acks
     * or releases the delivery, the other does nothing.
     */
    private final class Settling {
        final Delivery delivery;
        /** For the back-off's length: the message as received, or {@code null} when none could be read. */
        final Msg<?> msg;
        /** Where the outcome is handled once the broker answered; {@code null}: wait on the calling thread. */
        final Executor completions;
        final Runnable whenReleased;
        /** Told the outcome, or {@code null} (the waiting methods return it instead). */
        final Consumer<Outcome> then;
        /** The outcome, for the waiting methods' return value: written and read on the calling thread there. */
        volatile Outcome outcome;
        private final AtomicBoolean claimed = new AtomicBoolean();

        Settling(Delivery delivery, Msg<?> msg, Executor completions, Consumer<Outcome> then, Runnable whenReleased) {
            this.delivery = delivery;
            this.msg = msg;
            this.completions = completions;
            this.then = then;
            this.whenReleased = whenReleased;
        }

        /** Whether the caller is the one to settle the delivery: true once only. */
        boolean claim() {
            return claimed.compareAndSet(false, true);
        }
    }

    private static String describe(Throwable e) {
        return e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
