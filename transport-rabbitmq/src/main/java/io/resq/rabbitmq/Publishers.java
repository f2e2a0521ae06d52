package io.resq.rabbitmq;

import com.rabbitmq.client.Connection;
import io.resq.ResqException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BiConsumer;

/**
 * A fixed set of {@link PublisherChannel}s on the publishing connection, handed out round-robin so
 * that concurrent senders pipeline on several channels instead of queueing on one.
 *
 * <p>Thread-safe: slots are replaced with compare-and-set when a channel was closed by a channel
 * error (automatic recovery only restores channels after a connection failure).
 */
final class Publishers {

    private final Connection connection;
    private final Endpoint endpoint;
    private final BiConsumer<String, Boolean> onUnroutable;
    private final Duration confirmTimeout;
    private final AtomicReferenceArray<PublisherChannel> slots;
    private final AtomicInteger next = new AtomicInteger();

    Publishers(Connection connection, Endpoint endpoint, int size, Duration confirmTimeout, BiConsumer<String, Boolean> onUnroutable) {
        this.connection = connection;
        this.confirmTimeout = confirmTimeout;
        this.endpoint = endpoint;
        this.onUnroutable = onUnroutable;
        this.slots = new AtomicReferenceArray<>(size);
    }

    /** A channel to publish on; opens or replaces one as needed. */
    PublisherChannel next() {
        int i = Math.floorMod(next.getAndIncrement(), slots.length());
        PublisherChannel current = slots.get(i);
        if (current != null && !current.isClosedForGood(connection)) {
            return current;
        }
        PublisherChannel fresh;
        try {
            fresh = new PublisherChannel(connection, endpoint, confirmTimeout, onUnroutable);
        } catch (IOException | RuntimeException e) {
            throw new ResqException("cannot open a publishing channel to " + endpoint + ": " + Errors.describe(e), e);
        }
        if (slots.compareAndSet(i, current, fresh)) {
            if (current != null) {
                current.close();
            }
            return fresh;
        }
        fresh.close();
        return slots.get(i);
    }

    /** Fails overdue publishes on every channel; see {@link PublisherChannel#expire(long)}. */
    void expireOverdue() {
        long now = System.nanoTime();
        for (int i = 0; i < slots.length(); i++) {
            PublisherChannel c = slots.get(i);
            if (c != null) {
                c.expire(now);
            }
        }
    }

    void close() {
        for (int i = 0; i < slots.length(); i++) {
            PublisherChannel c = slots.get(i);
            if (c != null) {
                c.close();
            }
        }
    }
}
