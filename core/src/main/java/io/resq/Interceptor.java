package io.resq;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

/**
 * Hooks around sends and handler calls, for observability modules (tracing, metrics) that need
 * more than a {@link Listener}: adding headers to a message before it is sent, learning how long a
 * send took, and running code around each handler call. Registered with
 * {@link Queues.Builder#interceptor(Interceptor)}; every method has an empty default, so implement
 * only what you need. With no interceptor registered, resq calls nothing and allocates nothing for
 * them.
 *
 * <p><b>Threads.</b> {@link #onSend} runs on the thread that sends: the caller of
 * {@link Enqueue#send}/{@link Enqueue#sendAsync}, or the enqueue's send thread for messages put into
 * {@link Enqueue#messages()}. {@link Send#completed} runs on the transport's callback thread (or the
 * caller's, or the retry timer's). {@link #onHandle}, {@link Handling#retrying} and
 * {@link Handling#completed} run on the processor's worker thread, inside the message's MDC;
 * {@link Handling#call} runs on the thread that runs the handler: the worker thread, or with
 * {@link ProcessorBuilder#timeout} a handler thread of its own (also inside the MDC). For a delivery that
 * failed and whose redelivery or dead-letter copy was sent, {@link Handling#completed} runs once the
 * broker answered, on a settle thread of the processor (inside the MDC too), or on the thread of
 * {@link Processor#close()} for a copy still unconfirmed then.
 * {@link #onProcessorStarted} runs on the thread that calls {@link ProcessorBuilder#start()}.
 *
 * <p><b>Failures.</b> An interceptor never changes what happens to a message. Whatever one throws is
 * logged (rate-limited, naming its class) and ignored: a message is still sent (with the headers
 * added before the throw), and a handler is called exactly once per call whatever
 * {@link Handling#call} does — if it throws before calling the handler, or returns without calling
 * it, resq calls the handler itself; the call's outcome is always the handler's own (a failure the
 * interceptor swallowed is still a failure, and an exception it throws after a handler that
 * returned normally is dropped).
 *
 * <p><b>A {@link Dequeue}</b> has no handler, so {@link #onHandle} is not called for it; the
 * application handles its messages itself, and {@link Msg#headers()} carries whatever an
 * interceptor added on the sending side. Copies resq writes itself (redelivery, dead letter,
 * redrive) are not sends: they keep the headers of the message as it was first sent.
 */
public interface Interceptor {

    /**
     * A message is about to be encoded and sent to {@code msg.queue()}. Add headers to it with
     * {@code headers.accept(name, value)} (names must not start with {@code resq-}); they travel
     * with the message and every copy of it. Return what wants to learn the outcome, or
     * {@code null}. Called once per message, before the first of its send attempts.
     */
    default Send onSend(Msg<?> msg, BiConsumer<String, String> headers) {
        return null;
    }

    /**
     * A processor of {@code msg.queue()} in {@code group} ({@code null} when none was named) is about
     * to handle one delivery of {@code msg}. Return what wraps its handler calls and learns how the
     * delivery ends, or {@code null}.
     */
    default Handling onHandle(Msg<?> msg, String group) {
        return null;
    }

    /** {@code processor} started (for instance, to bind gauges to its {@link Processor#health()}). */
    default void onProcessorStarted(Processor<?> processor) {
    }

    /** The outcome of one send. */
    @FunctionalInterface
    interface Send {
        /**
         * The broker confirmed the message ({@code failure} is {@code null}), or the send failed for
         * good after its retries ({@code failure} says why). {@code latency} runs from just before
         * the first attempt to now.
         */
        void completed(Duration latency, Throwable failure);
    }

    /** One delivery's handling by a processor: every handler call of it, its in-process retries, its end. */
    interface Handling {
        /**
         * Runs one handler call: call {@code handlerCall} once and return (or throw) what it does.
         * Called once per call, in-process retries included, on the thread that runs the handler.
         */
        default <V> V call(Callable<V> handlerCall) throws Exception {
            return handlerCall.call();
        }

        /** Handler call number {@code call} failed with {@code failure}; the next call is in {@code delay}. */
        default void retrying(Throwable failure, int call, Duration delay) {
        }

        /**
         * The delivery is settled, exactly once: {@code failure} is the last handler failure, or
         * {@code null} (always {@code null} for {@link Outcome#SUCCEEDED}).
         */
        default void completed(Outcome outcome, Throwable failure) {
        }
    }

    /** How one delivery ended. */
    enum Outcome {
        /** The handler returned normally; the message was acked. */
        SUCCEEDED,
        /** The handler failed; the message went back to the broker for a later delivery. */
        REDELIVERED,
        /** The handler failed for the last time, or not retryably; the message went to the dead-letter queue. */
        DEAD_LETTERED,
        /**
         * The delivery went back to the broker untouched, not as a failure: the processor was
         * closing, its circuit was open, or the broker refused the retry copy.
         */
        RELEASED
    }
}
