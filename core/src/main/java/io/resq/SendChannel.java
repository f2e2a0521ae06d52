package io.resq;

import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The bounded send channel of an {@link Enqueue}: an {@link ArrayBlockingQueue} that refuses
 * inserts once closed, as a closed channel should — {@code offer} returns {@code false},
 * {@code add} and {@code put} throw {@link IllegalStateException} — so nothing put after close is
 * silently left behind. The first insert starts the enqueue's send thread.
 *
 * <p>Threads: any number of producers insert; the enqueue's send thread removes. {@link #close()}
 * is called once, by the closing thread, and returns only when no insert is still in progress, so
 * whatever the channel holds after it returns is everything that was accepted.
 */
final class SendChannel<E> extends ArrayBlockingQueue<E> {

    private static final long serialVersionUID = 1L;
    /** A blocked {@code put} re-checks for close this often. */
    private static final long PUT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** How long close() sleeps between checks for inserts still under way. */
    private static final long WAIT_FOR_INSERTS_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final transient String name;
    private final transient Runnable onFirstInsert;
    /** Inserts between their check of {@link #closed} and their end; close() waits for zero. */
    private final transient AtomicInteger inserting = new AtomicInteger();
    private transient volatile boolean closed;
    private transient volatile boolean used;

    SendChannel(int capacity, String name, Runnable onFirstInsert) {
        super(capacity);
        this.name = name;
        this.onFirstInsert = onFirstInsert;
    }

    @Override
    public boolean offer(E e) {
        Objects.requireNonNull(e);
        if (!enter()) {
            return false;
        }
        try {
            return super.offer(e);
        } finally {
            inserting.decrementAndGet();
        }
    }

    @Override
    public boolean offer(E e, long timeout, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(e);
        if (!enter()) {
            return false;
        }
        try {
            long left = unit.toNanos(timeout);
            long deadline = System.nanoTime() + left;
            while (true) {
                if (super.offer(e, Math.min(left, PUT_SLICE_NANOS), TimeUnit.NANOSECONDS)) {
                    return true;
                }
                left = deadline - System.nanoTime();
                if (left <= 0 || closed) {
                    return false;
                }
            }
        } finally {
            inserting.decrementAndGet();
        }
    }

    @Override
    public boolean add(E e) {
        Objects.requireNonNull(e);
        if (!enter()) {
            throw closedException();
        }
        try {
            if (super.offer(e)) {
                return true;
            }
            throw new IllegalStateException("the send channel of " + name + " is full (" + size()
                    + " messages); use put() to wait for room, or offer() to be told");
        } finally {
            inserting.decrementAndGet();
        }
    }

    @Override
    public void put(E e) throws InterruptedException {
        Objects.requireNonNull(e);
        if (!enter()) {
            throw closedException();
        }
        try {
            // Slices, not one unbounded wait: a put blocked on a full channel must see close().
            while (!super.offer(e, PUT_SLICE_NANOS, TimeUnit.NANOSECONDS)) {
                if (closed) {
                    throw closedException();
                }
            }
        } finally {
            inserting.decrementAndGet();
        }
    }

    /** True once something was inserted: the send thread has been started. */
    boolean used() {
        return used;
    }

    boolean isClosed() {
        return closed;
    }

    /** Refuses every later insert and waits until the inserts already under way have ended. */
    void close() {
        closed = true;
        // A put blocked on a full channel sees the close within one slice (50 ms): wait politely.
        while (inserting.get() > 0) {
            LockSupport.parkNanos(WAIT_FOR_INSERTS_NANOS);
        }
    }

    /** Registers an insert; false (and nothing registered) when closed. */
    private boolean enter() {
        inserting.incrementAndGet();
        if (closed) {
            inserting.decrementAndGet();
            return false;
        }
        if (!used) {
            used = true;
            onFirstInsert.run();
        }
        return true;
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("Enqueue of " + name + " is closed: it sends nothing more; "
                + "get an open one from queues.enqueue(queue, type)");
    }
}
