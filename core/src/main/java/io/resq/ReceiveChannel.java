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
 * <p>Only resq fills it: {@code add}, {@code offer} and {@code put} from users throw
 * {@link UnsupportedOperationException} (a message put there would have no delivery to settle).
 * Once its dequeue is closed and the channel is empty, {@code take()} throws
 * {@link IllegalStateException} instead of blocking forever, and the timed {@code poll} returns
 * {@code null} at once.
 *
 * <p>Threads: one fetch thread adds (through {@link #deliver}) and waits in {@link #awaitRoom}; any
 * number of consumers remove; the closing thread calls {@link #close()}.
 */
final class ReceiveChannel<E> extends ArrayBlockingQueue<E> {

    private static final long serialVersionUID = 1L;
    private static final long MAX_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** A consumer blocked on an empty channel re-checks for close this often. */
    private static final long TAKE_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final transient String name;
    private transient volatile Thread waiter;
    private transient volatile boolean closed;

    ReceiveChannel(int capacity, String name) {
        super(capacity);
        this.name = name;
    }

    /** Called by the fetch thread only, with room reserved: never blocks. */
    void deliver(E e) {
        if (!super.offer(e)) {
            throw new IllegalStateException("receive channel of " + name + " is full: the fetch thread overfilled it");
        }
    }

    /** Whether the dequeue closed: nothing more will arrive. */
    boolean isClosed() {
        return closed;
    }

    /** No more messages will come: consumers waiting on an empty channel stop waiting. */
    void close() {
        closed = true;
    }

    @Override
    public boolean add(E e) {
        throw refused();
    }

    @Override
    public boolean offer(E e) {
        throw refused();
    }

    @Override
    public boolean offer(E e, long timeout, TimeUnit unit) {
        throw refused();
    }

    @Override
    public void put(E e) {
        throw refused();
    }

    private UnsupportedOperationException refused() {
        return new UnsupportedOperationException("the receive channel of " + name + " is filled by resq only; "
                + "send messages with queues.enqueue(queue, type)");
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
        while (true) {
            E e = super.poll(TAKE_SLICE_NANOS, TimeUnit.NANOSECONDS);
            if (e != null) {
                return signal(e);
            }
            if (closed) {
                E last = super.poll();
                if (last != null) {
                    return signal(last);
                }
                throw new IllegalStateException("the Dequeue of " + name + " is closed and its receive channel is empty: "
                        + "nothing more will arrive");
            }
        }
    }

    @Override
    public E poll() {
        return signal(super.poll());
    }

    @Override
    public E poll(long timeout, TimeUnit unit) throws InterruptedException {
        long left = unit.toNanos(timeout);
        long deadline = System.nanoTime() + left;
        while (true) {
            E e = super.poll(Math.min(Math.max(left, 0), TAKE_SLICE_NANOS), TimeUnit.NANOSECONDS);
            if (e != null) {
                return signal(e);
            }
            left = deadline - System.nanoTime();
            if (left <= 0 || closed) {
                return closed ? signal(super.poll()) : null;
            }
        }
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
