package io.resq.examples;

import io.resq.ProcessingException;

/**
 * An order that no retry can fix. Its status, 422, is what the dead-letter history records; a
 * processor started with {@code .abortOn(InvalidOrderException.class)} sends such an order to the
 * dead-letter queue at once instead of retrying it.
 */
public class InvalidOrderException extends ProcessingException {

    /** Status recorded in the error history: 422, unprocessable. */
    public static final int STATUS = 422;

    /** An invalid order, with a message that says what is wrong with it. */
    public InvalidOrderException(String message) {
        super(STATUS, message);
    }
}
