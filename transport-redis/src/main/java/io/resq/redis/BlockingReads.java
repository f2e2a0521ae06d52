package io.resq.redis;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds how many receivers of one transport hold a pooled connection in a blocking
 * {@code XREADGROUP} at the same time, so the pool always has connections that no blocking read
 * holds: the background thread's keep-alives and ack flushes (and sends) then wait at most behind
 * short commands, never behind a read that blocks for a whole slice. A receiver that finds every
 * permit taken waits for one at most as long as it would have blocked in Redis, then reads
 * without blocking, so it still gets what is there.
 *
 * <p>Thread-safe: fetching threads of any receiver take and return permits; the semaphore is
 * fair, so no receiver is passed over for long.
 */
final class BlockingReads {

    private final int limit;
    private final Semaphore permits;

    private BlockingReads(int limit) {
        this.limit = limit;
        this.permits = limit == Integer.MAX_VALUE ? null : new Semaphore(limit, true);
    }

    /** At most {@code limit} blocking reads at once. */
    static BlockingReads atMost(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("blocking reads limit must be >= 1, was " + limit);
        }
        return new BlockingReads(limit);
    }

    /** No bound: for a client whose pool size the transport cannot see and the user did not give. */
    static BlockingReads unbounded() {
        return new BlockingReads(Integer.MAX_VALUE);
    }

    /** The bound, {@link Integer#MAX_VALUE} when unbounded. */
    int limit() {
        return limit;
    }

    /**
     * Takes a permit, waiting at most {@code waitMs}; returns how many of those milliseconds are
     * left for the blocking read, or -1 without a permit (then read without blocking).
     */
    long acquire(long waitMs) throws InterruptedException {
        if (permits == null) {
            return waitMs;
        }
        long start = System.nanoTime();
        // The timed tryAcquire honours the fair order (the untimed one barges).
        if (!permits.tryAcquire(waitMs, TimeUnit.MILLISECONDS)) {
            return -1;
        }
        long left = waitMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (left < 1) {
            permits.release();
            return -1;
        }
        return left;
    }

    /** Returns a permit taken by {@link #acquire} (one that returned >= 0). */
    void release() {
        if (permits != null) {
            permits.release();
        }
    }
}
