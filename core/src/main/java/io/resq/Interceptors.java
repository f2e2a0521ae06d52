package io.resq;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The interceptors of a {@link Queues}, in registration order, each one guarded as
 * {@link Interceptor} promises: whatever one throws is logged (at most once every
 * {@value #LOG_INTERVAL_SECONDS} s per interceptor, naming its class and the hook, never the
 * message) and ignored, and a handler call always runs the handler exactly once and ends as the
 * handler did. The one exception is a {@link VirtualMachineError} other than
 * {@link StackOverflowError}, which is rethrown.
 *
 * <p>Only made when at least one interceptor is registered: resq's send and handler paths test
 * for {@code null} and otherwise do exactly what they did without interceptors.
 */
final class Interceptors {

    static final long LOG_INTERVAL_SECONDS = 10;
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(LOG_INTERVAL_SECONDS);
    private static final Logger LOG = LoggerFactory.getLogger(Interceptors.class);

    private final Guarded[] all;

    private Interceptors(List<Interceptor> interceptors) {
        this.all = interceptors.stream().map(Guarded::new).toArray(Guarded[]::new);
    }

    /** The guarded interceptors, or {@code null} when there are none. */
    static Interceptors of(List<Interceptor> interceptors) {
        return interceptors.isEmpty() ? null : new Interceptors(interceptors);
    }

    // ------------------------------------------------------------------ send

    /**
     * The sending thread: {@code msg} with the headers the interceptors added (the message itself
     * when they added none, or the headers could not be set), and the callbacks for its outcome.
     */
    <T> Sending<T> beforeSend(Msg<T> msg) {
        Map<String, String> added = new LinkedHashMap<>(4);
        List<Guarded> whose = null;
        List<Interceptor.Send> callbacks = null;
        for (Guarded g : all) {
            try {
                Interceptor.Send s = g.interceptor.onSend(msg, (name, value) -> added.put(name, value));
                if (s != null) {
                    if (callbacks == null) {
                        callbacks = new ArrayList<>(all.length);
                        whose = new ArrayList<>(all.length);
                    }
                    callbacks.add(s);
                    whose.add(g);
                }
            } catch (Throwable t) {
                g.threw("onSend", t);
            }
        }
        Msg<T> out = msg;
        if (!added.isEmpty()) {
            try {
                out = msg.toBuilder().headers(added).build();
            } catch (RuntimeException e) {
                // A header resq refuses (a reserved name, say): sent without the added headers, never lost.
                LOG.warn("headers added by an interceptor to a message of {} were refused, sending it without them: {}",
                        msg.queue(), e.getMessage());
            }
        }
        return new Sending<>(out, whose, callbacks, System.nanoTime());
    }

    /** One message on its way: the message to encode and whom to tell how its send ended. */
    static final class Sending<T> {
        final Msg<T> msg;
        private final List<Guarded> whose;
        private final List<Interceptor.Send> callbacks;
        private final long startNanos;

        private Sending(Msg<T> msg, List<Guarded> whose, List<Interceptor.Send> callbacks, long startNanos) {
            this.msg = msg;
            this.whose = whose;
            this.callbacks = callbacks;
            this.startNanos = startNanos;
        }

        /** The send ended: {@code failure} is {@code null} when the broker confirmed it. */
        void completed(Throwable failure) {
            if (callbacks == null) {
                return;
            }
            Duration latency = Duration.ofNanos(System.nanoTime() - startNanos);
            for (int i = 0; i < callbacks.size(); i++) {
                try {
                    callbacks.get(i).completed(latency, failure);
                } catch (Throwable t) {
                    whose.get(i).threw("Send.completed", t);
                }
            }
        }
    }

    // ------------------------------------------------------------------ handle

    /** The worker thread: the handlings of one delivery, or {@code null} when no interceptor wants one. */
    Handlings onHandle(Msg<?> msg, String group) {
        List<Guarded> whose = null;
        List<Interceptor.Handling> handlings = null;
        for (Guarded g : all) {
            try {
                Interceptor.Handling h = g.interceptor.onHandle(msg, group);
                if (h != null) {
                    if (handlings == null) {
                        handlings = new ArrayList<>(all.length);
                        whose = new ArrayList<>(all.length);
                    }
                    handlings.add(h);
                    whose.add(g);
                }
            } catch (Throwable t) {
                g.threw("onHandle", t);
            }
        }
        return handlings == null ? null : new Handlings(whose.toArray(new Guarded[0]), handlings.toArray(new Interceptor.Handling[0]));
    }

    /** The thread that calls {@code start()}. */
    void onProcessorStarted(Processor<?> processor) {
        for (Guarded g : all) {
            try {
                g.interceptor.onProcessorStarted(processor);
            } catch (Throwable t) {
                g.threw("onProcessorStarted", t);
            }
        }
    }

    /** The handlings of one delivery, the first registered outermost. */
    static final class Handlings {
        private final Guarded[] whose;
        private final Interceptor.Handling[] handlings;

        private Handlings(Guarded[] whose, Interceptor.Handling[] handlings) {
            this.whose = whose;
            this.handlings = handlings;
        }

        /** Runs {@code handler} once through every handling; returns or throws what the handler did. */
        <V> V call(Callable<V> handler) throws Exception {
            return callFrom(0, handler);
        }

        private <V> V callFrom(int i, Callable<V> handler) throws Exception {
            if (i == handlings.length) {
                return handler.call();
            }
            Tracked<V> inner = new Tracked<>(() -> callFrom(i + 1, handler));
            try {
                handlings[i].call(inner);
            } catch (Throwable t) {
                if (!inner.ran) {
                    // Threw before the handler ran: the handler still runs, as if there were no such interceptor.
                    whose[i].threw("Handling.call", t);
                    return callFrom(i + 1, handler);
                }
                if (!inner.failed) {
                    whose[i].threw("Handling.call", t);
                }
                // Otherwise it is the handler's own failure coming through: the expected case.
            }
            if (!inner.ran) {
                whose[i].threw("Handling.call", new IllegalStateException("returned without calling the handler; resq called it"));
                return callFrom(i + 1, handler);
            }
            return inner.outcome();
        }

        void retrying(Throwable failure, int call, Duration delay) {
            for (int i = 0; i < handlings.length; i++) {
                try {
                    handlings[i].retrying(failure, call, delay);
                } catch (Throwable t) {
                    whose[i].threw("Handling.retrying", t);
                }
            }
        }

        void completed(Interceptor.Outcome outcome, Throwable failure) {
            for (int i = 0; i < handlings.length; i++) {
                try {
                    handlings[i].completed(outcome, failure);
                } catch (Throwable t) {
                    whose[i].threw("Handling.completed", t);
                }
            }
        }
    }

    /**
     * The handler call as an interceptor sees it: runs at most once, and remembers what the handler
     * returned or threw, so that the call's outcome is the handler's whatever the interceptor does.
     * Used by one thread (the one running the handler).
     */
    private static final class Tracked<V> implements Callable<V> {
        private final Callable<V> target;
        boolean ran;
        boolean failed;
        private V result;
        private Throwable error;

        Tracked(Callable<V> target) {
            this.target = target;
        }

        @Override
        public V call() throws Exception {
            if (ran) {
                throw new IllegalStateException("the handler was already called for this call; an interceptor may call it once");
            }
            ran = true;
            try {
                result = target.call();
                return result;
            } catch (Exception | Error e) {
                failed = true;
                error = e;
                throw e;
            }
        }

        V outcome() throws Exception {
            if (!failed) {
                return result;
            }
            if (error instanceof Exception e) {
                throw e;
            }
            throw (Error) error;
        }
    }

    /** One interceptor and the rate limit of the warnings about it. */
    private static final class Guarded {
        final Interceptor interceptor;
        private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);
        private final AtomicLong suppressed = new AtomicLong();

        Guarded(Interceptor interceptor) {
            this.interceptor = interceptor;
        }

        void threw(String hook, Throwable t) {
            if (t instanceof VirtualMachineError vme && !(t instanceof StackOverflowError)) {
                throw vme;
            }
            if (t instanceof InterruptedException) {
                // The interrupt was meant for the thread (close(), a timeout): keep it.
                Thread.currentThread().interrupt();
            }
            long now = System.nanoTime();
            long last = lastLogged.get();
            if (now - last < LOG_INTERVAL_NANOS || !lastLogged.compareAndSet(last, now)) {
                suppressed.incrementAndGet();
                return;
            }
            long leftOut = suppressed.getAndSet(0);
            // The class, not toString(): an interceptor's toString is its author's code and could print anything.
            LOG.warn("interceptor {} threw {} from {}; ignored, the message's outcome is unchanged{}", interceptor.getClass().getName(),
                    t.getClass().getName(), hook, leftOut == 0 ? "" : " (and " + leftOut + " times since the last warning, not logged)", t);
        }
    }
}
