package io.resq;

import java.util.Collection;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The bounded receive channel of a {@link Dequeue}: an {@link ArrayBlockingQueue} that wakes the
 * fetch thread as soon as a consumer makes room, so a full channel is refilled at once instead of
 * after a sleep. Only the common removal methods signal; anything else is caught by the fetch
 * thread's bounded wait.
 *
 * <p>Threads: one fetch thread adds and waits in {@link #awaitRoom}; any number of consumers remove.
 */
final class ReceiveChannel<E> extends ArrayBlockingQueue<E> {

    private static final long serialVersionUID = 1L;
    private static final long MAX_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private transient volatile Thread waiter;

    ReceiveChannel(int capacity) {
        super(capacity);
    }

    /** Called by the fetch thread only: parks until a consumer removes something (or a short time passes). */
    void awaitRoom() {
        waiter = Thread.currentThread();
        if (remainingCapacity() == 0) {
            LockSupport.parkNanos(this, MAX_WAIT_NANOS);
        }
        waiter = null;
    }

    private <T> T signal(T removed) {
        Thread w = waiter;
        if (removed != null && w != null) {
            LockSupport.unpark(w);
        }
        return removed;
    }

    @Override
    public E take() throws InterruptedException {
        return signal(super.take());
    }

    @Override
    public E poll() {
        return signal(super.poll());
    }

    @Override
    public E poll(long timeout, TimeUnit unit) throws InterruptedException {
        return signal(super.poll(timeout, unit));
    }

    @Override
    public int drainTo(Collection<? super E> c) {
        return drainTo(c, Integer.MAX_VALUE);
    }

    @Override
    public int drainTo(Collection<? super E> c, int maxElements) {
        int n = super.drainTo(c, maxElements);
        signal(n > 0 ? Boolean.TRUE : null);
        return n;
    }
}
