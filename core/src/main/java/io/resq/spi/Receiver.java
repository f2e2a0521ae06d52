package io.resq.spi;

import java.time.Duration;
import java.util.List;

/**
 * Pulls deliveries from one queue for one group. A receiver is used by one fetching thread;
 * {@link Delivery#ack()} and {@link Delivery#release()} may be called from any thread.
 * {@link #close()} hands every unsettled delivery back to the broker.
 */
public interface Receiver extends AutoCloseable {

    /**
     * Waits up to {@code wait} for at least one message and returns at most {@code max}.
     * Returns an empty list when nothing arrived in time or while paused.
     *
     * @throws InterruptedException if the calling thread is interrupted while waiting
     */
    List<Delivery> poll(int max, Duration wait) throws InterruptedException;

    /** Stops fetching from the broker until {@link #resume()}; messages stay in the broker. */
    void pause();

    /** Undoes {@link #pause()}. */
    void resume();

    /**
     * Whether this receiver is receiving: DOWN with the cause while it cannot (its connection or
     * consumer failed and it is recovering, or it stopped for good), UP otherwise. Called by the
     * fetching thread after every poll, so it must be cheap and must not block; the default is UP.
     */
    default Health health() {
        return RECEIVING;
    }

    /** The default {@link #health()}. */
    Health RECEIVING = Health.up("receiving");

    /** Stops receiving and releases every unsettled delivery. Idempotent. */
    @Override
    void close();
}
