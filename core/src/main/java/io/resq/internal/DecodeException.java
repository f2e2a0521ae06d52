package io.resq.internal;

import io.resq.ProcessingException;

/** A body that cannot become a message: status 400, never retried. Not public API. */
public class DecodeException extends ProcessingException {

    /**
     * A decode failure with a message that says what is wrong with the body. The {@code cause} is
     * not kept: a parser's own messages quote the body, and this exception's stack trace travels
     * in the dead letter's history and reaches logs.
     */
    public DecodeException(String message, Throwable cause) {
        super(400, message, null);
    }
}
