package io.resq.memory;

import io.resq.Msg;
import io.resq.TypeRef;
import io.resq.internal.Json;
import io.resq.internal.MsgCodec;
import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Outbound;
import io.resq.spi.PayloadCodec;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A transport that keeps queues in memory, for unit tests of handlers with no broker, the way
 * Kafka's {@code MockConsumer} is used. It behaves like a broker with every capability except
 * consumer groups (all receivers of a queue compete, whatever their group): delays follow the
 * given {@link Clock}, so a {@code ManualClock} makes a one-hour redelivery instant; released
 * messages go back to their place; a key's messages are handed out one at a time.
 *
 * <pre>{@code
 * ManualClock clock = new ManualClock();
 * InMemoryTransport transport = InMemoryTransport.create(clock);
 * Queues queues = Queues.using(transport);
 * ...
 * clock.advance(Duration.ofHours(1));
 * List<Msg<Order>> dead = transport.messages("orders_deadletter", Order.class);
 * }</pre>
 *
 * <p>Thread-safe for any number of producers and consumers.
 */
public final class InMemoryTransport implements Transport {

    /** The window of a processor on this transport that sets no {@code prefetch}: see {@link #defaultPrefetch}. */
    public static final int DEFAULT_PREFETCH = 256;

    /** The body limit of {@link #create()}: 10 MiB. */
    public static final int DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024;

    private static final Set<Capability> CAPABILITIES = Set.copyOf(EnumSet.of(
            Capability.DELAYED_DELIVERY, Capability.ORDERED_BY_KEY, Capability.DELIVERY_COUNT, Capability.PAUSE));

    private final Clock clock;
    private final int maxBodySize;
    private final Map<String, MemoryQueue> queues = new ConcurrentHashMap<>();
    private final Set<MemoryReceiver> receivers = ConcurrentHashMap.newKeySet();
    private final Map<String, Throwable> failingQueues = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private volatile PayloadCodec payloadCodec = PayloadCodec.jackson(Json.defaultMapper());

    private InMemoryTransport(Clock clock, int maxBodySize) {
        this.clock = clock;
        this.maxBodySize = maxBodySize;
    }

    /** A transport on the system clock with the default body limit. */
    public static InMemoryTransport create() {
        return create(Clock.systemUTC());
    }

    /** A transport whose delays follow {@code clock} (a {@code ManualClock} in tests). */
    public static InMemoryTransport create(Clock clock) {
        return create(clock, DEFAULT_MAX_BODY_SIZE);
    }

    /** A transport whose delays follow {@code clock} and that refuses bodies over {@code maxBodySize} bytes. */
    public static InMemoryTransport create(Clock clock, int maxBodySize) {
        Objects.requireNonNull(clock, "clock must not be null");
        if (maxBodySize < 1) {
            throw new IllegalArgumentException("maxBodySize must be >= 1, was " + maxBodySize);
        }
        return new InMemoryTransport(clock, maxBodySize);
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Sender sender(String queue) {
        requireName(queue);
        return messages -> send(queue, messages);
    }

    private CompletableFuture<Void> send(String queue, List<Outbound> messages) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("in-memory transport is closed"));
        }
        Throwable failure = failingQueues.get(queue);
        if (failure != null) {
            return CompletableFuture.failedFuture(failure);
        }
        for (Outbound m : messages) {
            if (m.body().length > maxBodySize) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("message " + m.id() + " has a body of "
                        + m.body().length + " bytes, over the in-memory transport's limit of " + maxBodySize + " bytes"));
            }
        }
        queue(queue).add(messages);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        requireName(queue);
        Objects.requireNonNull(options, "options must not be null");
        if (closed) {
            throw new IllegalStateException("in-memory transport is closed");
        }
        MemoryReceiver[] self = new MemoryReceiver[1];
        self[0] = new MemoryReceiver(queue(queue), () -> receivers.remove(self[0]));
        receivers.add(self[0]);
        return self[0];
    }

    @Override
    public Health health() {
        return closed ? Health.down("in-memory transport is closed") : Health.up("in-memory, " + queues.size() + " queues");
    }

    @Override
    public int maxBodySize() {
        return maxBodySize;
    }

    /**
     * {@value #DEFAULT_PREFETCH}, or twice the concurrency when that is more. A message handed out
     * here holds no broker lease, visibility timeout or consumer timeout, so a wide window costs
     * nothing but the order in which competing processors of one queue share it; with the brokers'
     * 16, a handler that takes a few microseconds empties its window faster than the fetch thread
     * wakes to refill it, and the in-memory processor ran at less than half its rate (measured in
     * docs/benchmarks.md). A key's messages are still handed out one at a time.
     */
    @Override
    public int defaultPrefetch(int concurrency) {
        return Math.max(DEFAULT_PREFETCH, 2 * concurrency);
    }

    /**
     * What sits in {@code queue} now (ready, delayed and unacknowledged), dead-letter queues
     * included, decoded as {@code type}: envelopes as envelopes, raw bodies as bare payloads.
     * Payloads are read with the {@link #payloadCodec(PayloadCodec) payload codec} of the
     * {@code Queues} built over this transport (its {@code ObjectMapper}'s JSON by default), so a
     * test reads what its own {@code Queues} wrote. Messages that do not decode as {@code type}
     * are left out; use {@link #bodies(String)} to see them.
     */
    public <T> List<Msg<T>> messages(String queue, Class<T> type) {
        requireName(queue);
        Objects.requireNonNull(type, "type must not be null");
        return messages(queue, TypeRef.of(type));
    }

    /**
     * Like {@link #messages(String, Class)}, for a generic payload type:
     * {@code messages("batches_deadletter", new TypeRef<List<Order>>() {})}.
     */
    public <T> List<Msg<T>> messages(String queue, TypeRef<T> type) {
        requireName(queue);
        Objects.requireNonNull(type, "type must not be null");
        List<Msg<T>> out = new ArrayList<>();
        MemoryQueue q = queues.get(queue);
        if (q == null) {
            return out;
        }
        PayloadCodec codec = payloadCodec;
        for (Outbound m : q.snapshot()) {
            MsgCodec.<T>inspect(codec, type.type(), queue, m).ifPresent(out::add);
        }
        return out;
    }

    /**
     * Sets the codec {@link #messages(String, Class) messages(...)} reads payloads with.
     * {@code Queues.builder(transport)...build()} sets it to that {@code Queues}' codec, so a test
     * needs this only to read messages that another codec wrote; the last one set wins. Until a
     * {@code Queues} is built it is JSON through resq's default {@code ObjectMapper}.
     *
     * @return this transport
     */
    public InMemoryTransport payloadCodec(PayloadCodec codec) {
        this.payloadCodec = Objects.requireNonNull(codec, "codec must not be null");
        return this;
    }

    /** The raw bodies in {@code queue} now, in send order. */
    public List<byte[]> bodies(String queue) {
        requireName(queue);
        MemoryQueue q = queues.get(queue);
        List<byte[]> out = new ArrayList<>();
        if (q != null) {
            q.snapshot().forEach(m -> out.add(m.body().clone()));
        }
        return out;
    }

    /** Makes every send to {@code queue} fail with {@code cause} until {@link #healSends(String)}: a broker outage for tests. */
    public void failSends(String queue, Throwable cause) {
        requireName(queue);
        failingQueues.put(queue, Objects.requireNonNull(cause, "cause must not be null"));
    }

    /** Undoes {@link #failSends(String, Throwable)}. */
    public void healSends(String queue) {
        requireName(queue);
        failingQueues.remove(queue);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        new ArrayList<>(receivers).forEach(MemoryReceiver::close);
    }

    private MemoryQueue queue(String name) {
        return queues.computeIfAbsent(name, n -> new MemoryQueue(clock));
    }

    private static void requireName(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        if (queue.isBlank()) {
            throw new IllegalArgumentException("queue must not be blank");
        }
    }
}
