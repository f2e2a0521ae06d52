package io.resq.testkit;

import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.io.IOException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A transport that passes everything to a real one, except sends to the queues it is told to
 * refuse: for those it either fails each send (as a broker that is down or refuses the message
 * would) or throws from {@link #sender(String)} itself (as a transport that cannot open the queue
 * would). For tests of what resq does when a retry or dead-letter copy cannot be written.
 *
 * <p>{@link #close()} does not close the real transport: its owner does.
 */
public final class RefusingTransport implements Transport {

    /** How a refused queue fails. */
    public enum Mode {
        /** Each send's future fails with an {@link IOException}. */
        FAIL_SENDS,
        /** {@link #sender(String)} throws an {@link IllegalStateException}. */
        THROW_FROM_SENDER
    }

    private final Transport delegate;
    private final Set<String> refused = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.FAIL_SENDS;

    /** Refuses nothing until {@link #refuse(String, Mode)}. */
    public RefusingTransport(Transport delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate must not be null");
    }

    /** From now on, sends to {@code queue} fail as {@code how} says (senders made earlier included). */
    public RefusingTransport refuse(String queue, Mode how) {
        this.mode = Objects.requireNonNull(how, "how must not be null");
        refused.add(Objects.requireNonNull(queue, "queue must not be null"));
        return this;
    }

    /** Sends to {@code queue} go through again. */
    public void heal(String queue) {
        refused.remove(queue);
    }

    @Override
    public Set<Capability> capabilities() {
        return delegate.capabilities();
    }

    @Override
    public Sender sender(String queue) {
        if (refused.contains(queue) && mode == Mode.THROW_FROM_SENDER) {
            throw new IllegalStateException("cannot open a sender for " + queue + " (refused by the test)");
        }
        Sender real = delegate.sender(queue);
        return messages -> refused.contains(queue)
                ? CompletableFuture.failedFuture(new IOException("send to " + queue + " refused by the test"))
                : real.send(messages);
    }

    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        return delegate.receiver(queue, options);
    }

    @Override
    public Health health() {
        return delegate.health();
    }

    @Override
    public int maxBodySize() {
        return delegate.maxBodySize();
    }

    @Override
    public void close() {
        // The real transport belongs to whoever made it.
    }
}
