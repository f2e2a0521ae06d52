package io.resq;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The processor's prefetch budget: how many more messages the fetch thread may take before
 * handlers settle some. Unlike a {@link java.util.concurrent.Semaphore}, a waiting fetch thread is
 * woken once per refill batch, not once per settled message: with one worker and a busy queue a
 * wake-up per message made the fetch thread and the worker take turns at parking, which cost more
 * than the handling itself.
 *
 * <p>Threads: {@link #awaitRefill} and {@link #take} are called by the one fetch thread only;
 * {@link #release} by any thread (workers settling, {@code close()} abandoning).
 */
final class PrefetchSlots {

    /** Free slots at which a waiting fetch thread is woken. */
    private final int refillAt;
    private final AtomicInteger free;
    // Set by the fetch thread before it parks: the thread a release crossing refillAt unparks.
    private volatile Thread waiter;

    /**
     * @param prefetch    messages that may be unsettled at once
     * @param concurrency worker threads; the fetch thread refills before any of them could idle
     */
    PrefetchSlots(int prefetch, int concurrency) {
        Args.atLeast(prefetch, 1, "prefetch");
        // Wait for half the budget, but never so long that a worker has nothing queued: with
        // prefetch == concurrency every free slot is an idle worker, so refill at once.
        this.refillAt = Math.max(1, Math.min(prefetch / 2, prefetch - concurrency));
        this.free = new AtomicInteger(prefetch);
    }

    /**
     * Waits until a refill batch is free, or any slot once {@code timeoutNanos} passed; returns
     * whether at least one slot is free. Fetch thread only.
     */
    boolean awaitRefill(long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (free.get() < refillAt) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            waiter = Thread.currentThread();
            // Checked again after publishing the waiter: a release in between would not unpark.
            if (free.get() < refillAt) {
                LockSupport.parkNanos(this, left);
            }
            waiter = null;
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return free.get() > 0;
    }

    /** Takes up to {@code max} free slots and returns how many it took (0 when none is free). Fetch thread only. */
    int take(int max) {
        while (true) {
            int now = free.get();
            int n = Math.min(now, max);
            if (n <= 0 || free.compareAndSet(now, now - n)) {
                return Math.max(n, 0);
            }
        }
    }

    /** Gives {@code n} slots back; wakes the fetch thread when this completes a refill batch. Any thread. */
    void release(int n) {
        if (n <= 0) {
            return;
        }
        int after = free.addAndGet(n);
        if (after - n < refillAt && after >= refillAt) {
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /** Whether a refill batch is free, so the fetch thread should fetch rather than do anything else. */
    boolean refillDue() {
        return free.get() >= refillAt;
    }

    /** Gives one slot back. Any thread. */
    void release() {
        release(1);
    }

    /** Free slots now, for tests. */
    int free() {
        return free.get();
    }
}
