package io.resq;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What a processor's handler can know about the call it is in, beyond its {@link Msg} (which
 * already carries the delivery {@link Msg#attempt() attempt}, the {@link Msg#headers() headers}
 * and the {@link Msg#errors() error history}): which in-process call this is and the deadline the
 * processor's timeout sets. Read it with {@link #current()} on the thread that runs the handler.
 * To choose when the message comes back after a failure, throw {@link RetryLaterException}.
 */
public final class HandlerContext {

    // Set by the processor on the thread that runs the handler, for the length of one call.
    private static final ThreadLocal<HandlerContext> CURRENT = new ThreadLocal<>();

    private final int call;
    private final Instant deadline;
    private final Clock clock;

    HandlerContext(int call, Instant deadline, Clock clock) {
        this.call = call;
        this.deadline = deadline;
        this.clock = clock;
    }

    /**
     * The context of the handler call running on this thread.
     *
     * @throws IllegalStateException when called outside a processor's handler
     */
    public static HandlerContext current() {
        HandlerContext c = CURRENT.get();
        if (c == null) {
            throw new IllegalStateException("HandlerContext.current() is only available on the thread running a processor's handler");
        }
        return c;
    }

    /** 1 for the first call of this delivery, 2 for its first in-process retry, and so on. */
    public int call() {
        return call;
    }

    /** When the processor's {@code timeout} ends this call, or empty when it has no timeout. */
    public Optional<Instant> deadline() {
        return Optional.ofNullable(deadline);
    }

    /** The time left before the deadline (zero once it passed), or empty when there is no timeout. */
    public Optional<Duration> remaining() {
        if (deadline == null) {
            return Optional.empty();
        }
        Duration left = Duration.between(clock.instant(), deadline);
        return Optional.of(left.isNegative() ? Duration.ZERO : left);
    }

    /** Runs {@code body} with this context current on the calling thread. */
    void run(ThrowingRunnable body) throws Exception {
        HandlerContext before = CURRENT.get();
        CURRENT.set(this);
        try {
            body.run();
        } finally {
            // set, not remove: a removed entry is allocated anew on the next set, once per handler call.
            CURRENT.set(before);
        }
    }

    /** A handler call. */
    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
