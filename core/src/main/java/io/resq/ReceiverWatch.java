package io.resq;

import io.resq.spi.Health;
import io.resq.spi.Receiver;

/**
 * Follows a receiver's {@link Receiver#health()} for a processor or dequeue and reports each change
 * to the listener. Owned by the fetch thread, which calls {@link #check()} after every poll;
 * {@link #current()} may be read from any thread.
 */
final class ReceiverWatch {

    private final Receiver receiver;
    private final String queue;
    private final String group;
    private final Listener listener;
    private volatile Health current = Health.up("not polled yet");

    ReceiverWatch(Receiver receiver, String queue, String group, Listener listener) {
        this.receiver = receiver;
        this.queue = queue;
        this.group = group;
        this.listener = listener;
    }

    /** Fetch thread: reads the receiver's state and tells the listener when UP/DOWN changed. */
    void check() {
        Health now;
        try {
            now = receiver.health();
        } catch (RuntimeException e) {
            now = Health.down("the receiver's health check threw " + e);
        }
        if (now == null) {
            return;
        }
        Health before = current;
        current = now;
        if (before.status() != now.status()) {
            listener.onReceiverStateChanged(queue, group, now);
        }
    }

    /** The receiver's state at the last check. */
    Health current() {
        return current;
    }
}
