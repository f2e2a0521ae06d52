package io.resq;

import java.util.List;
import java.util.Objects;

/**
 * A message the send channel ({@link Enqueue#messages()}) could not deliver after its retries,
 * with one failure per attempt. Found in {@link Enqueue#deadLetters()}.
 *
 * @param message  the message as it would have been sent (its id included)
 * @param failures one entry per attempt, oldest first
 * @param <T>      the payload type
 */
public record Undelivered<T>(Msg<T> message, List<Failure> failures) {

    /** Validates the arguments and copies the failures. */
    public Undelivered {
        Objects.requireNonNull(message, "message must not be null");
        failures = List.copyOf(failures);
    }
}
