package io.resq;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The messages of one {@link BatchHandler} call, oldest first, with a way to fail single ones.
 * Messages of one key keep their order within a batch. A batch is used by the thread that runs the
 * handler only.
 *
 * @param <T> the payload type
 */
public final class Batch<T> {

    private final List<Msg<T>> messages;
    // Filled during one call; a call that throws discards it (the whole batch failed).
    private final Map<Msg<T>, Throwable> failed = new IdentityHashMap<>();

    Batch(List<Msg<T>> messages) {
        this.messages = Collections.unmodifiableList(messages);
    }

    /** The messages, oldest first. */
    public List<Msg<T>> messages() {
        return messages;
    }

    /** The payloads of {@link #messages()}, in the same order. */
    public List<T> payloads() {
        List<T> out = new ArrayList<>(messages.size());
        for (Msg<T> m : messages) {
            out.add(m.payload());
        }
        return out;
    }

    /** How many messages the batch holds. */
    public int size() {
        return messages.size();
    }

    /**
     * Fails {@code msg} alone: when the handler returns, it goes to redelivery (or the dead-letter
     * queue) with {@code error} in its history, and the other messages are acked. It is not retried
     * in process. Failing a message twice keeps the last error.
     *
     * @throws IllegalArgumentException if {@code msg} is not one of this batch's messages
     */
    public void fail(Msg<T> msg, Throwable error) {
        Objects.requireNonNull(msg, "msg must not be null");
        Objects.requireNonNull(error, "error must not be null");
        boolean ours = false;
        for (Msg<T> m : messages) {
            if (m == msg) {
                ours = true;
                break;
            }
        }
        if (!ours) {
            throw new IllegalArgumentException("message " + msg.id() + " is not in this batch; fail the Msg instance the batch handed out");
        }
        failed.put(msg, error);
    }

    /** The error {@code msg} was failed with in the last call, or {@code null}. */
    Throwable failure(Msg<T> msg) {
        return failed.get(msg);
    }

    /** Forgets the failures of a call that threw: the next call starts clean. */
    void clearFailures() {
        failed.clear();
    }
}
