package io.resq;

import io.resq.spi.Health;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans events out to listeners, each one guarded: whatever a listener throws is logged and
 * dropped, so a listener never changes a message's outcome and never keeps the others from an
 * event. The one exception is a {@link VirtualMachineError} other than {@link StackOverflowError}
 * (such as {@link OutOfMemoryError}), after which the JVM is in no state to go on as if nothing
 * happened; it is rethrown.
 *
 * <p>A listener that throws on every message would flood the log, so each listener's failures
 * are logged at WARN at most once every {@value #LOG_INTERVAL_SECONDS} s, with the number left
 * out since. The line names the listener's class and the event, never the message or its payload.
 */
final class Listeners implements Listener {

    static final long LOG_INTERVAL_SECONDS = 10;
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(LOG_INTERVAL_SECONDS);
    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

    private final Guarded[] all;

    private Listeners(List<Guarded> all) {
        this.all = all.toArray(new Guarded[0]);
    }

    /** {@code first} and {@code second} (either may be {@code null}), guarded; always a new guard, never a bare listener. */
    static Listener of(Listener first, Listener second) {
        return of(LOG, System::nanoTime, first, second);
    }

    /** {@code listener} guarded as {@link #of(Listener, Listener)} says; a listener already guarded is returned as it is. */
    static Listener safe(Listener listener) {
        return listener instanceof Listeners ? listener : of(listener, null);
    }

    /** As {@link #of(Listener, Listener)}, logging to {@code log} with {@code nanoTime} as the clock: for tests. */
    static Listener of(Logger log, LongSupplier nanoTime, Listener... listeners) {
        List<Guarded> guarded = new ArrayList<>(listeners.length);
        for (Listener l : listeners) {
            if (l instanceof Listeners already) {
                // Keep their guards, so a listener shared by several processors is rate-limited once, not per processor.
                for (Guarded g : already.all) {
                    add(guarded, g);
                }
            } else if (l != null && l != NONE) {
                add(guarded, new Guarded(l, log, nanoTime));
            }
        }
        return new Listeners(guarded);
    }

    private static void add(List<Guarded> guarded, Guarded g) {
        for (Guarded present : guarded) {
            if (present.listener == g.listener) {
                return;
            }
        }
        guarded.add(g);
    }

    private void each(String event, Consumer<Listener> call) {
        for (Guarded g : all) {
            try {
                call.accept(g.listener);
            } catch (Throwable t) {
                g.threw(event, t);
            }
        }
    }

    @Override
    public void onReceived(Msg<?> msg) {
        each("onReceived", l -> l.onReceived(msg));
    }

    @Override
    public void onSucceeded(Msg<?> msg, Duration duration) {
        each("onSucceeded", l -> l.onSucceeded(msg, duration));
    }

    @Override
    public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
        each("onRetried", l -> l.onRetried(msg, failure, attempt, delay));
    }

    @Override
    public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
        each("onRedelivered", l -> l.onRedelivered(msg, failure, delay));
    }

    @Override
    public void onReceiverStateChanged(String queue, String group, Health state) {
        each("onReceiverStateChanged", l -> l.onReceiverStateChanged(queue, group, state));
    }

    @Override
    public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
        each("onDeadLettered", l -> l.onDeadLettered(msg, failure, deadLetterQueue));
    }

    @Override
    public void onSendFailed(Msg<?> msg, List<Failure> failures) {
        each("onSendFailed", l -> l.onSendFailed(msg, failures));
    }

    /** One listener and the rate limit of the warnings about it. */
    private static final class Guarded {
        final Listener listener;
        private final Logger log;
        private final LongSupplier nanoTime;
        private final AtomicLong lastLogged;
        private final AtomicLong suppressed = new AtomicLong();

        Guarded(Listener listener, Logger log, LongSupplier nanoTime) {
            this.listener = listener;
            this.log = log;
            this.nanoTime = nanoTime;
            // As if the last warning were a full interval ago, so the first failure is logged at once.
            this.lastLogged = new AtomicLong(nanoTime.getAsLong() - LOG_INTERVAL_NANOS);
        }

        void threw(String event, Throwable t) {
            if (t instanceof VirtualMachineError vme && !(t instanceof StackOverflowError)) {
                throw vme;
            }
            if (t instanceof InterruptedException) {
                // Thrown sneakily past the interface; the interrupt was meant for the thread (e.g. close()), so keep it.
                Thread.currentThread().interrupt();
            }
            long now = nanoTime.getAsLong();
            long last = lastLogged.get();
            if (now - last < LOG_INTERVAL_NANOS || !lastLogged.compareAndSet(last, now)) {
                suppressed.incrementAndGet();
                return;
            }
            long leftOut = suppressed.getAndSet(0);
            // The class, not toString(): a listener's toString is its author's code and could print anything.
            log.warn("listener {} threw {} from {}; ignored, the message's outcome is unchanged{}", listener.getClass().getName(),
                    t.getClass().getName(), event, leftOut == 0 ? "" : " (and " + leftOut + " times since the last warning, not logged)", t);
        }
    }
}
