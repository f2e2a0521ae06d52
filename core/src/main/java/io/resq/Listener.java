package io.resq;

import io.resq.spi.Health;
import java.time.Duration;
import java.util.List;

/**
 * Sees what happens to messages: received, succeeded, retried in process, redelivered through the
 * broker, dead-lettered, and sends that failed. Every method has an empty default, so implement
 * only what you need. Methods are called on processing threads: keep them fast. A listener that
 * throws is logged (rate-limited) and ignored: it never changes what happens to a message.
 *
 * <p>The default, {@link #logging()}, logs through SLF4J (logger {@code io.resq}): failures at
 * WARN/ERROR, successes at DEBUG, payloads never above DEBUG.
 */
public interface Listener {

    /** A listener that does nothing. */
    Listener NONE = new Listener() { };

    /** The default listener: logs through SLF4J. */
    static Listener logging() {
        return LoggingListener.INSTANCE;
    }

    /** A message was received and is about to be handled. */
    default void onReceived(Msg<?> msg) {
    }

    /** The handler returned normally after {@code duration}; the message is acked. */
    default void onSucceeded(Msg<?> msg, Duration duration) {
    }

    /** Call number {@code attempt} failed and will be retried in process after {@code delay}. */
    default void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
    }

    /**
     * The delivery failed and the message went back to the broker, due again after {@code delay}.
     * Called once the broker confirmed the copy and the original was acked: in a processor on one of
     * its settle threads, while its worker already handles other messages.
     */
    default void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
    }

    /**
     * The message went to {@code deadLetterQueue} with its history; {@code failure} is the last one.
     * Called once the broker confirmed the copy and the original was acked, like {@link #onRedelivered}.
     */
    default void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
    }

    /**
     * The receiver of a processor or dequeue on {@code queue} went DOWN (it cannot receive and is
     * recovering; {@code state} says why) or came back UP. {@code group} is the group named with
     * {@code group(...)}, or {@code null}. Called on the fetch thread.
     */
    default void onReceiverStateChanged(String queue, String group, Health state) {
    }

    /** A send on the best-effort channel failed for good; the message is in {@link Enqueue#deadLetters()}. */
    default void onSendFailed(Msg<?> msg, List<Failure> failures) {
    }
}
