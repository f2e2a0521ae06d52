package io.resq;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * One failed delivery of a message, as kept in its error history ({@link Msg#errors()}) and in
 * the envelope's {@code error} array.
 *
 * @param statusCode 400 undecodable body, 500 handler exception, 503 circuit open, 504 timeout,
 *                   or what a {@link ProcessingException} chose
 * @param type       the exception's class name
 * @param message    the exception's message (may be {@code null})
 * @param stackTrace the stack trace, at most {@link #MAX_STACK_TRACE_CHARS} characters
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
    /** Stack traces are cut to this many characters (8 KiB), so failing never grows a message past a broker's limit. */
    public static final int MAX_STACK_TRACE_CHARS = 8 * 1024;

    /** Validates the arguments and bounds the stack trace. */
    public Failure {
        Objects.requireNonNull(type, "type must not be null");
        Objects.requireNonNull(date, "date must not be null");
        stackTrace = stackTrace == null ? "" : truncate(stackTrace);
    }

    /** The failure that {@code error} stands for, dated {@code date}, with its status chosen as documented above. */
    public static Failure of(Throwable error, Instant date) {
        Objects.requireNonNull(error, "error must not be null");
        Throwable cause = unwrap(error);
        return new Failure(statusOf(cause), cause.getClass().getName(), cause.getMessage(), stackTraceOf(cause), date);
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

    private static String truncate(String s) {
        return s.length() <= MAX_STACK_TRACE_CHARS ? s : s.substring(0, MAX_STACK_TRACE_CHARS);
    }
}
