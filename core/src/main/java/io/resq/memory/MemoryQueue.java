package io.resq.memory;

import io.resq.spi.Outbound;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One named queue of the in-memory transport.
 *
 * <p>Threads: every field is guarded by {@link #lock}; senders, receivers and settling threads
 * all go through it. Messages are ordered by a send sequence number, so a released message goes
 * back to its original place and per-key order survives a release.
 */
final class MemoryQueue {

    /** Receivers re-check the clock this often, so a {@code ManualClock} advance is noticed promptly. */
    private static final long CLOCK_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // The ready messages, in send order, in two parts: messages sent without a delay are appended to
    // `appended` (their sequence numbers only grow, so it stays sorted and taking its head is O(1));
    // released and newly due messages go back into `returned` at their place. A taker merges the two.
    // One sorted map for all of them spent a fifth of the fetch thread rebalancing with a backlog.
    private final ArrayDeque<Stored> appended = new ArrayDeque<>();
    private final TreeMap<Long, Stored> returned = new TreeMap<>();
    private final PriorityQueue<Stored> delayed = new PriorityQueue<>(
            (a, b) -> a.dueAt.equals(b.dueAt) ? Long.compare(a.seq, b.seq) : a.dueAt.compareTo(b.dueAt));
    private final Map<Long, Stored> inFlight = new LinkedHashMap<>();
    private final Set<String> busyKeys = new HashSet<>();
    private long nextSeq;

    MemoryQueue(Clock clock) {
        this.clock = clock;
    }

    /** A stored message; mutable fields are guarded by the queue's lock. */
    static final class Stored {
        final long seq;
        final Outbound message;
        Instant dueAt;
        int deliveries;
        Object holder;

        Stored(long seq, Outbound message, Instant dueAt) {
            this.seq = seq;
            this.message = message;
            this.dueAt = dueAt;
        }
    }

    void add(List<Outbound> messages) {
        lock.lock();
        try {
            Instant now = clock.instant();
            for (Outbound m : messages) {
                Stored s = new Stored(nextSeq++, m, now.plus(m.delay()));
                if (m.delay().isZero()) {
                    appended.addLast(s);
                } else {
                    delayed.add(s);
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes up to {@code max} due messages whose key is not held by another delivery, waiting up
     * to {@code waitNanos}. Returns the taken messages, now held by {@code holder}.
     */
    List<Stored> take(Object holder, int max, long waitNanos, java.util.function.BooleanSupplier paused)
            throws InterruptedException {
        long deadline = System.nanoTime() + waitNanos;
        lock.lockInterruptibly();
        try {
            while (true) {
                if (!paused.getAsBoolean()) {
                    promoteDue();
                    List<Stored> taken = takeReady(holder, max);
                    if (!taken.isEmpty()) {
                        return taken;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return List.of();
                }
                changed.awaitNanos(Math.min(left, CLOCK_CHECK_NANOS));
            }
        } finally {
            lock.unlock();
        }
    }

    private void promoteDue() {
        Instant now = clock.instant();
        while (!delayed.isEmpty() && !delayed.peek().dueAt.isAfter(now)) {
            Stored s = delayed.poll();
            returned.put(s.seq, s);
        }
    }

    private List<Stored> takeReady(Object holder, int max) {
        List<Stored> taken = new ArrayList<>(Math.min(max, returned.size() + appended.size()));
        Iterator<Stored> back = returned.values().iterator();
        Iterator<Stored> fresh = appended.iterator();
        Stored nextBack = back.hasNext() ? back.next() : null;
        Stored nextFresh = fresh.hasNext() ? fresh.next() : null;
        while ((nextBack != null || nextFresh != null) && taken.size() < max) {
            // The lower sequence number of the two heads: send order across both parts.
            boolean fromBack = nextFresh == null || nextBack != null && nextBack.seq < nextFresh.seq;
            Stored s = fromBack ? nextBack : nextFresh;
            String key = s.message.key();
            boolean free = key == null || busyKeys.add(key);
            if (free) {
                (fromBack ? back : fresh).remove();
            }
            if (fromBack) {
                nextBack = back.hasNext() ? back.next() : null;
            } else {
                nextFresh = fresh.hasNext() ? fresh.next() : null;
            }
            if (!free) {
                continue;
            }
            s.deliveries++;
            s.holder = holder;
            inFlight.put(s.seq, s);
            taken.add(s);
        }
        return taken;
    }

    /** Settles a delivery: removes it, or puts it back in its place. False if it was already settled. */
    boolean settle(Stored s, boolean remove) {
        lock.lock();
        try {
            if (inFlight.remove(s.seq) == null) {
                return false;
            }
            s.holder = null;
            if (s.message.key() != null) {
                busyKeys.remove(s.message.key());
            }
            if (!remove) {
                returned.put(s.seq, s);
            }
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Puts back every message held by {@code holder}. */
    void releaseAll(Object holder) {
        lock.lock();
        try {
            for (Stored s : new ArrayList<>(inFlight.values())) {
                if (s.holder == holder) {
                    settle(s, false);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Everything in the queue now, in send order: ready, delayed and in flight. */
    List<Outbound> snapshot() {
        lock.lock();
        try {
            TreeMap<Long, Outbound> all = new TreeMap<>();
            returned.values().forEach(s -> all.put(s.seq, s.message));
            appended.forEach(s -> all.put(s.seq, s.message));
            delayed.forEach(s -> all.put(s.seq, s.message));
            inFlight.values().forEach(s -> all.put(s.seq, s.message));
            return new ArrayList<>(all.values());
        } finally {
            lock.unlock();
        }
    }

    /** Wakes waiting receivers, for example after a pause flag changed. */
    void wakeUp() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
