package io.resq;

/** The root of every exception resq throws. Unchecked. */
public class ResqException extends RuntimeException {

    /** An exception with a message. */
    public ResqException(String message) {
        super(message);
    }

    /** An exception with a message and a cause. */
    public ResqException(String message, Throwable cause) {
        super(message, cause);
    }
}
