package io.resq;

import io.resq.spi.Delivery;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deliveries that go back to the broker after a back-off rather than at once: those whose retry
 * or dead-letter copy the broker refused, so that a handler's side effects never repeat in a
 * tight loop. The wait is real time (a back-off against a broker, not a policy delay that a test
 * clock should move).
 *
 * <p>Threads: one shared daemon timer thread for the whole JVM runs the releases; {@link #releaseAll()}
 * (the owner's close) releases what is left at once. Each delivery is released once, by whichever
 * of the two removes it from {@link #waiting} first.
 */
final class DeferredReleases {

    private static final Logger LOG = LoggerFactory.getLogger(DeferredReleases.class);
    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final Set<Waiting> waiting = ConcurrentHashMap.newKeySet();

    /** Releases {@code delivery} after {@code delay}, then runs {@code afterwards}. */
    void schedule(Delivery delivery, Duration delay, Runnable afterwards) {
        Waiting w = new Waiting(delivery, afterwards);
        waiting.add(w);
        w.timer = TIMER.schedule(w::release, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Releases every waiting delivery now. */
    void releaseAll() {
        for (Waiting w : waiting) {
            ScheduledFuture<?> t = w.timer;
            if (t != null) {
                t.cancel(false);
            }
            w.release();
        }
    }

    int size() {
        return waiting.size();
    }

    private final class Waiting {
        final Delivery delivery;
        final Runnable afterwards;
        volatile ScheduledFuture<?> timer;

        Waiting(Delivery delivery, Runnable afterwards) {
            this.delivery = delivery;
            this.afterwards = afterwards;
        }

        void release() {
            if (!waiting.remove(this)) {
                return;
            }
            try {
                delivery.release();
            } catch (RuntimeException e) {
                LOG.warn("release of {} failed; the broker delivers it again when the receiver closes: {}", delivery.id(), e.toString());
            } finally {
                try {
                    afterwards.run();
                } catch (RuntimeException e) {
                    LOG.warn("after releasing {}: {}", delivery.id(), e.toString());
                }
            }
        }
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "resq-release-later");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }
}
