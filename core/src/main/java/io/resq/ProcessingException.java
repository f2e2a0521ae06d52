package io.resq;

/**
 * Thrown by a handler to choose the status code recorded in the message's error history,
 * for example {@code throw new ProcessingException(422, "order has no lines")}.
 */
public class ProcessingException extends ResqException {

    private final int statusCode;

    /** A failure with the given status code (100..599) and message. */
    public ProcessingException(int statusCode, String message) {
        this(statusCode, message, null);
    }

    /** A failure with the given status code (100..599), message and cause. */
    public ProcessingException(int statusCode, String message, Throwable cause) {
        super(message, cause);
        if (statusCode < 100 || statusCode > 599) {
            throw new IllegalArgumentException("statusCode must be between 100 and 599, was " + statusCode);
        }
        this.statusCode = statusCode;
    }

    /** The status code recorded in {@link Failure#statusCode()}. */
    public int statusCode() {
        return statusCode;
    }
}
