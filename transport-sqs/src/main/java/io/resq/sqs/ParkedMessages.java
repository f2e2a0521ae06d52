package io.resq.sqs;

import java.util.PriorityQueue;

/**
 * The not-yet-due messages one FIFO receiver has parked (kept invisible until due), counted so
 * their number stays bounded: every parked message is in flight and counts against the queue's
 * in-flight quota (120,000 on SQS FIFO queues, where reaching it makes receives return nothing
 * rather than fail).
 *
 * <p>A parked message stops counting at the time it was parked until: then SQS makes it visible
 * again and it is no longer this receiver's. Owned by the receiver's fetching thread; not
 * thread-safe.
 */
final class ParkedMessages {

    private final int max;
    /** Epoch millis until which each parked message stays invisible, earliest first. */
    private final PriorityQueue<Long> until = new PriorityQueue<>();

    ParkedMessages(int max) {
        this.max = max;
    }

    /** Counts one message parked until {@code untilMillis}. */
    void add(long untilMillis) {
        until.add(untilMillis);
    }

    /** How many more may be parked now. */
    int room(long nowMillis) {
        expire(nowMillis);
        return Math.max(0, max - until.size());
    }

    /** Parked and not yet visible again. */
    int count(long nowMillis) {
        expire(nowMillis);
        return until.size();
    }

    /** Millis until the earliest parked message turns visible again, 0 if none is parked. */
    long millisToNextExpiry(long nowMillis) {
        expire(nowMillis);
        Long first = until.peek();
        return first == null ? 0 : Math.max(0, first - nowMillis);
    }

    int max() {
        return max;
    }

    private void expire(long nowMillis) {
        while (!until.isEmpty() && until.peek() <= nowMillis) {
            until.poll();
        }
    }
}
