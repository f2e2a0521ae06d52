package io.resq.jdbc;

import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real transport (it stores through the one it wraps) that, on every {@code every}-th send,
 * runs {@code cut} after the broker stored the batch and before confirming it: the moment a relay
 * crash hurts most, between the broker's confirmation and the relay's mark. {@code cut} ends the
 * relay's database session for real ({@code pg_terminate_backend}).
 */
final class CuttingTransport implements Transport {

    private final Transport delegate;
    private final int every;
    private final Runnable cut;
    private final AtomicInteger sends = new AtomicInteger();
    final AtomicInteger cuts = new AtomicInteger();

    CuttingTransport(Transport delegate, int every, Runnable cut) {
        this.delegate = delegate;
        this.every = every;
        this.cut = cut;
    }

    @Override
    public Set<Capability> capabilities() {
        return delegate.capabilities();
    }

    @Override
    public Sender sender(String queue) {
        Sender inner = delegate.sender(queue);
        return (List<Outbound> messages) -> {
            CompletableFuture<Void> stored = inner.send(messages);
            stored.join();
            if (sends.incrementAndGet() % every == 0) {
                cut.run();
                cuts.incrementAndGet();
            }
            return stored;
        };
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
        delegate.close();
    }
}
