package io.resq;

import java.time.Duration;
import java.util.Objects;

/**
 * Thrown by a handler to have the message delivered again after a delay it chooses, for example
 * the {@code Retry-After} a downstream service answered with:
 * {@code throw new RetryLaterException(Duration.ofSeconds(30), "payments API is rate limiting")}.
 *
 * <p>The message skips the remaining in-process retries (waiting in process would hold a worker
 * for the whole delay) and is redelivered through the broker after {@link #delay()}, cut to the
 * redelivery policy's {@code maxDelay} when it has one. It counts as a redelivery attempt like any
 * failure, with status 503 by default, so a message that keeps asking for later still ends in the
 * dead-letter queue when the redelivery policy's attempts are spent (or at once when the policy
 * allows no redelivery).
 */
public class RetryLaterException extends ProcessingException {

    private final Duration delay;

    /** Asks for a redelivery after {@code delay}, recorded with status 503 and {@code message}. */
    public RetryLaterException(Duration delay, String message) {
        this(delay, 503, message, null);
    }

    /** Asks for a redelivery after {@code delay}, recorded with {@code statusCode}, {@code message} and {@code cause}. */
    public RetryLaterException(Duration delay, int statusCode, String message, Throwable cause) {
        super(statusCode, message, cause);
        Objects.requireNonNull(delay, "delay must not be null");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0, was " + delay);
        }
        this.delay = delay;
    }

    /** The delay the handler asked for, before the policy's bound is applied. */
    public Duration delay() {
        return delay;
    }
}
