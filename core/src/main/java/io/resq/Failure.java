package io.resq;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.resq.internal.Utf8;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * One failed delivery of a message, as kept in its error history ({@link Msg#errors()}) and in
 * the envelope's {@code error} array.
 *
 * <p>Every field that holds text is bounded in UTF-8 bytes, whether the failure was built from an
 * exception or read from a message body, so that failing never grows a message past a broker's
 * size limit: {@code type} and {@code message} to {@link #MAX_MESSAGE_BYTES}, {@code stackTrace}
 * to {@link #MAX_STACK_TRACE_BYTES}. A longer value is cut on a character boundary and ends with
 * {@code " ... [cut, N bytes in all]"}, N being its full length in bytes; the cut value, marker
 * included, is within the bound.
 *
 * @param statusCode 400 undecodable body, 500 handler exception, 503 circuit open, 504 timeout,
 *                   or what a {@link ProcessingException} chose
 * @param type       the exception's class name
 * @param message    the exception's message (may be {@code null})
 * @param stackTrace the stack trace, or {@code ""} when there is none
 * @param date       when the failure happened
 */
public record Failure(int statusCode, String type, String message, String stackTrace, Instant date) {

    /** Status of a body that does not decode. */
    public static final int BAD_REQUEST = 400;
    /** Status of a handler exception, unless it chose another. */
    public static final int INTERNAL_ERROR = 500;
    /** Status of a call refused because the circuit is open. */
    public static final int UNAVAILABLE = 503;
    /** Status of a handler that ran past its timeout. */
    public static final int TIMEOUT = 504;
    /** The most UTF-8 bytes of {@link #message()} (and of {@link #type()}): 2 KiB. */
    public static final int MAX_MESSAGE_BYTES = 2 * 1024;
    /** The most UTF-8 bytes of {@link #stackTrace()}: 8 KiB. */
    public static final int MAX_STACK_TRACE_BYTES = 8 * 1024;

    /** Validates the arguments and bounds the text fields (see above). */
    public Failure {
        Objects.requireNonNull(type, "type must not be null");
        Objects.requireNonNull(date, "date must not be null");
        type = Utf8.bound(type, MAX_MESSAGE_BYTES);
        message = Utf8.bound(message, MAX_MESSAGE_BYTES);
        stackTrace = stackTrace == null ? "" : Utf8.bound(stackTrace, MAX_STACK_TRACE_BYTES);
    }

    /** The failure that {@code error} stands for, dated {@code date}, with its status chosen as documented above. */
    public static Failure of(Throwable error, Instant date) {
        Objects.requireNonNull(error, "error must not be null");
        Throwable cause = unwrap(error);
        return new Failure(statusOf(cause), cause.getClass().getName(), cause.getMessage(), stackTraceOf(cause), date);
    }

    /**
     * This failure without its stack trace (the other fields unchanged): a smaller copy for a
     * history that would otherwise be too large. Returns this failure if it has no stack trace.
     */
    public Failure withoutStackTrace() {
        return stackTrace.isEmpty() ? this : new Failure(statusCode, type, message, "", date);
    }

    /** The status code for {@code error}: see {@link #statusCode()}. */
    public static int statusOf(Throwable error) {
        Throwable cause = unwrap(error);
        if (cause instanceof ProcessingException pe) {
            return pe.statusCode();
        }
        if (cause instanceof TimeoutException) {
            return TIMEOUT;
        }
        if (cause instanceof CallNotPermittedException) {
            return UNAVAILABLE;
        }
        return INTERNAL_ERROR;
    }

    private static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String stackTraceOf(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }
}
