package io.resq;

import io.resq.spi.Capability;
import io.resq.spi.Delivery;
import io.resq.spi.Health;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A transport that delegates to another but fails where a test asks it to: a sender that cannot
 * be opened, a delivery whose headers or ack throw once, a receiver whose close throws, sends whose
 * confirmation is held until the test lets it through. Records what was sent and closed.
 */
final class FaultyTransport implements Transport {

    private final Transport delegate;
    /** Message ids whose {@code headers()} throws once. */
    final Set<String> headersThrowOnce = ConcurrentHashMap.newKeySet();
    /** Message ids whose {@code ack()} throws once. */
    final Set<String> ackThrowsOnce = ConcurrentHashMap.newKeySet();
    /** Queues whose {@code sender(...)} throws. */
    final Set<String> senderThrows = ConcurrentHashMap.newKeySet();
    /** Queues whose receivers throw on close. */
    final Set<String> receiverCloseThrows = ConcurrentHashMap.newKeySet();
    final Set<String> closedReceivers = ConcurrentHashMap.newKeySet();
    final AtomicBoolean closed = new AtomicBoolean();
    /** The options of every receiver opened. */
    final List<ReceiverOptions> receiverOptions = new CopyOnWriteArrayList<>();
    /** What {@link #defaultPrefetch(int)} answers; {@code null}: the SPI's default. */
    volatile java.util.function.IntUnaryOperator prefetchFor;
    /** What every receiver's {@code health()} answers; {@code null}: the wrapped receiver's own. */
    volatile Health receiverHealth;
    /** What {@link #maxDelay()} answers; {@code null}: the wrapped transport's own. */
    volatile Duration maxDelay;
    /** Message ids handed out as unreadable, with this reason. */
    final Map<String, String> unreadable = new ConcurrentHashMap<>();
    /** Every message handed to a sender, with its queue. */
    final List<Map.Entry<String, Outbound>> sent = new CopyOnWriteArrayList<>();

    /** Queues whose sends are held: not passed on and not confirmed until {@link #releaseHeld()} or {@link #refuseHeld}. */
    final Set<String> holdSends = ConcurrentHashMap.newKeySet();
    /** The sends held now, oldest first. */
    final List<Held> held = new CopyOnWriteArrayList<>();

    /** A send whose confirmation is held. */
    record Held(String queue, List<Outbound> messages, CompletableFuture<Void> confirmed) {
    }

    FaultyTransport(Transport delegate) {
        this.delegate = delegate;
    }

    @Override
    public Set<Capability> capabilities() {
        return delegate.capabilities();
    }

    @Override
    public Sender sender(String queue) {
        if (senderThrows.contains(queue)) {
            throw new IllegalStateException("cannot open a sender for " + queue);
        }
        Sender s = delegate.sender(queue);
        return messages -> {
            messages.forEach(m -> sent.add(Map.entry(queue, m)));
            if (holdSends.contains(queue)) {
                Held h = new Held(queue, List.copyOf(messages), new CompletableFuture<>());
                held.add(h);
                return h.confirmed();
            }
            return s.send(messages);
        };
    }

    /**
     * Passes every held send on to the real transport and confirms it, on the calling thread (as a
     * broker client's I/O thread would); sends to those queues are held no longer. Returns how many.
     */
    int releaseHeld() {
        holdSends.clear();
        int n = 0;
        for (Held h : held) {
            held.remove(h);
            delegate.sender(h.queue()).send(h.messages()).whenComplete((v, e) -> {
                if (e == null) {
                    h.confirmed().complete(null);
                } else {
                    h.confirmed().completeExceptionally(e);
                }
            });
            n++;
        }
        return n;
    }

    /** Fails every held send with {@code cause}, on the calling thread, without passing it on. Returns how many. */
    int refuseHeld(Throwable cause) {
        int n = 0;
        for (Held h : held) {
            held.remove(h);
            h.confirmed().completeExceptionally(cause);
            n++;
        }
        return n;
    }

    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        receiverOptions.add(options);
        Receiver r = delegate.receiver(queue, options);
        return new Receiver() {
            @Override
            public List<Delivery> poll(int max, Duration wait) throws InterruptedException {
                List<Delivery> out = new ArrayList<>();
                for (Delivery d : r.poll(max, wait)) {
                    out.add(new FaultyDelivery(d));
                }
                return out;
            }

            @Override
            public Health health() {
                Health h = receiverHealth;
                return h != null ? h : r.health();
            }

            @Override
            public void pause() {
                r.pause();
            }

            @Override
            public void resume() {
                r.resume();
            }

            @Override
            public void close() {
                r.close();
                closedReceivers.add(queue);
                if (receiverCloseThrows.contains(queue)) {
                    throw new IllegalStateException("receiver of " + queue + " failed to close");
                }
            }
        };
    }

    @Override
    public int defaultPrefetch(int concurrency) {
        return prefetchFor == null ? Transport.super.defaultPrefetch(concurrency) : prefetchFor.applyAsInt(concurrency);
    }

    @Override
    public Health health() {
        return delegate.health();
    }

    @Override
    public Duration maxDelay() {
        return maxDelay != null ? maxDelay : delegate.maxDelay();
    }

    @Override
    public int maxBodySize() {
        return delegate.maxBodySize();
    }

    @Override
    public void close() {
        closed.set(true);
        delegate.close();
    }

    private final class FaultyDelivery implements Delivery {
        private final Delivery d;

        FaultyDelivery(Delivery d) {
            this.d = d;
        }

        @Override
        public String id() {
            return d.id();
        }

        @Override
        public String key() {
            return d.key();
        }

        @Override
        public Map<String, String> headers() {
            if (headersThrowOnce.remove(d.id())) {
                throw new IllegalStateException("headers of " + d.id() + " unreadable");
            }
            return d.headers();
        }

        @Override
        public byte[] body() {
            return unreadable.containsKey(d.id()) ? new byte[0] : d.body();
        }

        @Override
        public String unreadableReason() {
            return unreadable.get(d.id());
        }

        @Override
        public int deliveryCount() {
            return d.deliveryCount();
        }

        @Override
        public void ack() {
            if (ackThrowsOnce.remove(d.id())) {
                throw new IllegalStateException("ack of " + d.id() + " failed");
            }
            d.ack();
        }

        @Override
        public void release() {
            d.release();
        }
    }
}
