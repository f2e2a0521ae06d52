package io.resq;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.RetryRegistry;
import io.github.resilience4j.timelimiter.TimeLimiterRegistry;
import io.resq.internal.Json;
import io.resq.internal.MsgCodec;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Health;
import io.resq.spi.Outbound;
import io.resq.spi.PayloadCodec;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Transport;
import java.lang.reflect.Type;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The entry point: one per application. Owns the transport and every dequeue, enqueue and
 * processor opened from it; {@link #close()} closes them all, then the transport.
 *
 * <pre>{@code
 * Queues queues = Queues.using(transport);
 * Enqueue<Order> out = queues.enqueue("orders", Order.class);
 * Processor<Order> p = queues.processor("orders", Order.class).handler(billing::charge).start();
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class Queues implements AutoCloseable {

    /** Bodies over this many bytes (1 MiB) are refused with status 400 before decoding, unless configured. */
    public static final int DEFAULT_MAX_BODY_SIZE = 1024 * 1024;
    /** Retries of a send: three attempts, 100 ms then 200 ms apart. */
    public static final RetryPolicy DEFAULT_SEND_RETRY = RetryPolicy.exponential(Duration.ofMillis(100), 2.0).maxAttempts(3);
    /** How long a synchronous send waits for the broker's confirmation, retries included: 30 s. */
    public static final Duration DEFAULT_SEND_TIMEOUT = Duration.ofSeconds(30);
    /** Redeliveries of a message failed through a {@link Dequeue}: five deliveries, 1 s, 2 s, 4 s, 8 s apart. */
    public static final RetryPolicy DEFAULT_REDELIVERY = RetryPolicy.exponential(Duration.ofSeconds(1), 2.0).maxAttempts(5);
    /** The dead-letter queue of {@code orders} is {@code orders_deadletter}. */
    public static final String DEFAULT_DEAD_LETTER_SUFFIX = "_deadletter";
    /** How many times one message may be redriven out of a dead-letter queue before redrive leaves it there. */
    public static final int DEFAULT_MAX_REDRIVES = 3;
    /**
     * Room (64 KiB) an {@link Enqueue} leaves under the body limit for the error history a message
     * gathers as it fails, so a message accepted on send still fits the broker as a redelivery or
     * dead-letter copy. On a limit under 256 KiB the room is a quarter of the limit instead.
     */
    public static final int HISTORY_RESERVE_BYTES = 64 * 1024;

    private final Transport transport;
    final Settings settings;
    private final List<AutoCloseable> opened = new CopyOnWriteArrayList<>();
    private final List<DefaultProcessor<?>> processors = new CopyOnWriteArrayList<>();
    private final ConcurrentMap<EnqueueKey, DefaultEnqueue<?>> enqueues = new ConcurrentHashMap<>();
    /** The codecs of {@link #encode}, by payload type: found once per type, not per message. */
    private final ConcurrentMap<Type, MsgCodec<?>> encoders = new ConcurrentHashMap<>();
    /** Held by the one thread closing; a second close() waits on it until the first is done. */
    private final Object closing = new Object();
    private volatile boolean closed;
    private boolean closeDone;

    private Queues(Transport transport, Settings settings) {
        this.transport = transport;
        this.settings = settings;
    }

    /** Queues over {@code transport} with every default. */
    public static Queues using(Transport transport) {
        return builder(transport).build();
    }

    /** A builder for queues over {@code transport}. */
    public static Builder builder(Transport transport) {
        return new Builder(Objects.requireNonNull(transport, "transport must not be null"));
    }

    /** The transport, for inspection (for example {@code InMemoryTransport.messages}). */
    public Transport transport() {
        return transport;
    }

    /**
     * The receiving side of {@code queue} with no group named: for transports without consumer
     * groups (RabbitMQ, SQS, in-memory), or Kafka with a {@code group.id} in its configuration. On
     * a transport with consumer groups and none configured it throws, saying to name one with
     * {@link #dequeue(String, Class, String)}.
     */
    public <T> Dequeue<T> dequeue(String queue, Class<T> type) {
        return dequeue(queue, ref(type));
    }

    /** Like {@link #dequeue(String, Class)}, for a generic payload type: {@code dequeue(queue, new TypeRef<List<Order>>() {})}. */
    public <T> Dequeue<T> dequeue(String queue, TypeRef<T> type) {
        return open(queue, type, null);
    }

    /** The receiving side of {@code queue} in {@code group}: dequeues and processors of one group share messages. */
    public <T> Dequeue<T> dequeue(String queue, Class<T> type, String group) {
        return dequeue(queue, ref(type), group);
    }

    /** Like {@link #dequeue(String, Class, String)}, for a generic payload type. */
    public <T> Dequeue<T> dequeue(String queue, TypeRef<T> type, String group) {
        return open(queue, type, Args.name(group, "group"));
    }

    private <T> Dequeue<T> open(String queue, TypeRef<T> type, String group) {
        requireOpen();
        Args.name(queue, "queue");
        Objects.requireNonNull(type, "type must not be null");
        DefaultDequeue<T> d = new DefaultDequeue<>(transport, settings, codec(type), queue, group,
                deadLetterQueueOf(queue), settings.redelivery);
        opened.add(d);
        d.start();
        return d;
    }

    /**
     * The sending side of {@code queue}. Cheap to call per request: every call with the same queue
     * and type returns the same instance (it starts its send thread only once its
     * {@link Enqueue#messages() channel} is used), until that instance is closed. {@link #close()}
     * closes it; close it yourself only when no other code of the application still sends through it.
     *
     * <p>A message whose body exceeds {@link #sendLimit(int) the send limit} is refused.
     */
    public <T> Enqueue<T> enqueue(String queue, Class<T> type) {
        return enqueue(queue, ref(type));
    }

    /**
     * Like {@link #enqueue(String, Class)}, for a generic payload type:
     * {@code enqueue(queue, new TypeRef<List<Order>>() {})}. Refs to the same type are equal
     * wherever they were created, so every call returns the same instance here too; a
     * {@code TypeRef} to a plain class shares the instance of that class.
     */
    public <T> Enqueue<T> enqueue(String queue, TypeRef<T> type) {
        requireOpen();
        Args.name(queue, "queue");
        Objects.requireNonNull(type, "type must not be null");
        DefaultEnqueue<?> e = enqueues.compute(new EnqueueKey(queue, type.type()), (key, existing) ->
                existing != null && !existing.isClosed() ? existing
                        : new DefaultEnqueue<>(transport.sender(queue), settings, codec(type), queue, sendLimit(transport.maxBodySize()),
                                Math.min(transport.maxBodySize(), settings.maxBodySize), transport.maxDelay()));
        if (closed) {
            // close() ran while this was made: it may not have seen it.
            e.close();
            requireOpen();
        }
        @SuppressWarnings("unchecked") // the key holds the type the instance was made for
        Enqueue<T> typed = (Enqueue<T>) e;
        return typed;
    }

    /**
     * The largest body an {@link Enqueue} sends over a transport that takes {@code transportLimit}
     * bytes: the smaller of that limit and {@link Builder#maxBodySize(int) resq's own receive limit},
     * less {@link #HISTORY_RESERVE_BYTES} (or a quarter, on limits under 256 KiB) for the error
     * history. A message sent within it is never dead-lettered as oversized by a resq consumer.
     */
    int sendLimit(int transportLimit) {
        int limit = Math.min(transportLimit, settings.maxBodySize);
        return limit - Math.min(HISTORY_RESERVE_BYTES, limit / 4);
    }

    /**
     * The {@link Outbound} that {@code enqueue(queue, type).send(msg)} hands the transport: the same
     * id, key, category, attributes and headers, the body in this {@code Queues}' envelope mode and
     * payload codec, no delay. For code that stores a message to send it later through
     * {@link Transport#sender(String)} itself, such as a transactional outbox: sending the result
     * is what {@link Enqueue#send(Msg)} does, without its retries. Transport-level API, like the
     * {@code io.resq.spi} package; an application sends with {@link #enqueue(String, Class)}.
     *
     * @param queue the queue the message is for; the message is addressed to it
     * @param type  the payload's declared type, as given to {@link #enqueue(String, TypeRef)}
     * @param msg   the message
     * @throws IllegalArgumentException when the body is over {@link #sendLimit(int) the send limit}
     *                                  of this {@code Queues}' transport, as {@link Enqueue} refuses it
     */
    public <T> Outbound encode(String queue, TypeRef<T> type, Msg<T> msg) {
        Args.name(queue, "queue");
        Objects.requireNonNull(type, "type must not be null");
        Objects.requireNonNull(msg, "msg must not be null");
        @SuppressWarnings("unchecked") // the map holds, for each type, the codec made for that type
        MsgCodec<T> codec = (MsgCodec<T>) encoders.computeIfAbsent(type.type(), t -> codec(type));
        Msg<T> addressed = queue.equals(msg.queue()) ? msg : msg.toBuilder().queue(queue).build();
        Outbound out = codec.encode(addressed, Duration.ZERO);
        DefaultEnqueue.refuseOverLimit(out, queue, sendLimit(transport.maxBodySize()),
                Math.min(transport.maxBodySize(), settings.maxBodySize));
        return out;
    }

    /** A builder for a processor of {@code queue}; nothing runs until {@link ProcessorBuilder#start()}. */
    public <T> ProcessorBuilder<T> processor(String queue, Class<T> type) {
        return processor(queue, ref(type));
    }

    /**
     * Like {@link #processor(String, Class)}, for a generic payload type:
     * {@code processor("order-batches", new TypeRef<List<Order>>() {})} hands the handler a
     * {@code List<Order>}, its elements {@code Order}s.
     */
    public <T> ProcessorBuilder<T> processor(String queue, TypeRef<T> type) {
        requireOpen();
        Args.name(queue, "queue");
        Objects.requireNonNull(type, "type must not be null");
        return new ProcessorBuilder<>(this, queue, type);
    }

    /** Moves every message of {@code deadLetterQueue} to {@code targetQueue}; see {@link #redrive(String, String, Predicate)}. */
    public int redrive(String deadLetterQueue, String targetQueue) {
        return redrive(deadLetterQueue, targetQueue, m -> true);
    }

    /**
     * Moves the dead letters that {@code filter} accepts back to {@code targetQueue} for another
     * try, once their cause is fixed. Each message keeps its id and history; the redrive is
     * recorded in the history (an entry of type {@code resq.redrive}, status 0) and its delivery
     * count starts again at 1. A message already redriven {@link Builder#maxRedrives(int)} times stays
     * in the dead-letter queue, so a message that keeps failing cannot loop forever. Each message is
     * sent to the target before it is acked in the dead-letter queue.
     *
     * <p>The filter sees envelope payloads as Jackson {@code JsonNode}s (for a payload codec that
     * does not write JSON, the base64 text node) and raw payloads as {@code byte[]}.
     *
     * @return how many messages were moved
     */
    public int redrive(String deadLetterQueue, String targetQueue, Predicate<Msg<?>> filter) {
        requireOpen();
        Args.name(deadLetterQueue, "deadLetterQueue");
        Args.name(targetQueue, "targetQueue");
        Objects.requireNonNull(filter, "filter must not be null");
        return new Redrive(transport, settings, deadLetterQueue, targetQueue).run(filter);
    }

    /** The transport's health and each processor's circuit state, in-flight count, counters and last failure. */
    public HealthReport health() {
        Health h = closed ? Health.down("queues closed") : transport.health();
        List<ProcessorHealth> ps = new ArrayList<>();
        processors.forEach(p -> ps.add(p.health()));
        return new HealthReport(h, ps);
    }

    /**
     * Closes every processor, dequeue and enqueue (draining as each documents), then the transport.
     * Every part is closed even when closing another throws; the first failure is then thrown as a
     * {@link ResqException} with the others suppressed. Idempotent: a call while another thread is
     * closing waits until that close is done.
     */
    @Override
    public void close() {
        synchronized (closing) {
            if (closeDone) {
                return;
            }
            closed = true;
            List<RuntimeException> failures = new ArrayList<>();
            for (DefaultProcessor<?> p : processors) {
                closeQuietly(p::close, p, failures);
            }
            for (AutoCloseable c : opened) {
                closeQuietly(c::close, c, failures);
            }
            for (DefaultEnqueue<?> e : enqueues.values()) {
                closeQuietly(e::close, e, failures);
            }
            closeQuietly(transport::close, transport, failures);
            closeDone = true;
            if (!failures.isEmpty()) {
                ResqException e = new ResqException("closing Queues: " + failures.size() + " part(s) failed to close; "
                        + "the rest closed", failures.get(0));
                failures.subList(1, failures.size()).forEach(e::addSuppressed);
                throw e;
            }
        }
    }

    private static void closeQuietly(AutoCloseable part, Object what, List<RuntimeException> failures) {
        try {
            part.close();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            failures.add(e instanceof RuntimeException re ? re : new ResqException("closing " + what + " failed", e));
        }
    }

    // ------------------------------------------------------------ package internals

    <T> DefaultProcessor<T> register(DefaultProcessor<T> processor) {
        requireOpen();
        processors.add(processor);
        return processor;
    }

    <T> MsgCodec<T> codec(TypeRef<T> type) {
        return new MsgCodec<>(settings.mapper, settings.codec, type.type(), settings.mode, settings.maxBodySize);
    }

    <T> MsgCodec<T> codec(Class<T> type) {
        return codec(TypeRef.of(type));
    }

    /** The class as a ref; {@code null} stays null, for the TypeRef overload to refuse after it checked the queue, as before. */
    private static <T> TypeRef<T> ref(Class<T> type) {
        return type == null ? null : TypeRef.of(type);
    }

    String deadLetterQueueOf(String queue) {
        return queue + settings.deadLetterSuffix;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("Queues is closed; create a new one with Queues.using(transport)");
        }
    }

    /** A queue and a payload type; reflection's types are equal when they name the same type, whoever made them. */
    private record EnqueueKey(String queue, Type type) {
    }

    /** Everything the builder chose; immutable. {@code mapper} writes envelopes, {@code codec} payloads. */
    record Settings(ObjectMapper mapper, PayloadCodec codec, EnvelopeMode mode, int maxBodySize, Clock clock, Listener listener,
                    RetryPolicy sendRetry, Duration sendTimeout, RetryPolicy redelivery, String deadLetterSuffix, int prefetch, int maxRedrives,
                    Interceptors interceptors, Resilience resilience) {
    }

    /** Where processors register their resilience4j instances; each registry may be {@code null} (not registered). */
    record Resilience(RetryRegistry retries, CircuitBreakerRegistry circuitBreakers, TimeLimiterRegistry timeLimiters) {
    }

    /** Builds {@link Queues}; every option has a documented default. */
    public static final class Builder {
        private final Transport transport;
        private ObjectMapper mapper = Json.defaultMapper();
        /** {@code null}: Jackson with {@link #mapper}, whichever mapper that ends up being. */
        private PayloadCodec codec;
        private EnvelopeMode mode = EnvelopeMode.ENVELOPE;
        private int maxBodySize = DEFAULT_MAX_BODY_SIZE;
        private Clock clock = Clock.systemUTC();
        private Listener listener = Listener.logging();
        private RetryPolicy sendRetry = DEFAULT_SEND_RETRY;
        private Duration sendTimeout = DEFAULT_SEND_TIMEOUT;
        private RetryPolicy redelivery = DEFAULT_REDELIVERY;
        private String deadLetterSuffix = DEFAULT_DEAD_LETTER_SUFFIX;
        private int prefetch = ReceiverOptions.DEFAULT_PREFETCH;
        private int maxRedrives = DEFAULT_MAX_REDRIVES;
        private final List<Interceptor> interceptors = new ArrayList<>();
        private RetryRegistry retryRegistry;
        private CircuitBreakerRegistry circuitBreakerRegistry;
        private TimeLimiterRegistry timeLimiterRegistry;

        private Builder(Transport transport) {
            this.transport = transport;
        }

        /** {@link EnvelopeMode#ENVELOPE} (default) or {@link EnvelopeMode#RAW}, for every queue. */
        public Builder envelopeMode(EnvelopeMode value) {
            this.mode = Objects.requireNonNull(value, "envelopeMode must not be null");
            return this;
        }

        /**
         * The Jackson mapper for payloads (default: java.time support, unknown fields ignored).
         * Never enable default typing on it. With a {@link #payloadCodec(PayloadCodec) payload
         * codec} set, payloads are the codec's and this mapper only reads the envelope's own fields.
         */
        public Builder objectMapper(ObjectMapper value) {
            this.mapper = Objects.requireNonNull(value, "objectMapper must not be null");
            return this;
        }

        /**
         * How payloads become bytes and back, for every queue (default: JSON through the
         * {@link #objectMapper(ObjectMapper) ObjectMapper}). In an envelope a JSON codec's payload is
         * embedded as the {@code payload} value and any other codec's is a base64 string; in raw
         * mode the body is the codec's bytes (docs/wire-format.md). Over an {@link InMemoryTransport},
         * {@link InMemoryTransport#messages(String, Class) messages(...)} decodes with it too.
         */
        public Builder payloadCodec(PayloadCodec value) {
            this.codec = Objects.requireNonNull(value, "payloadCodec must not be null");
            return this;
        }

        /** Received bodies over this many bytes are dead-lettered with 400 before decoding. Default 1 MiB. */
        public Builder maxBodySize(int bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBodySize must be >= 1, was " + bytes);
            }
            this.maxBodySize = bytes;
            return this;
        }

        /** The clock of failure dates (default: system UTC). */
        public Builder clock(Clock value) {
            this.clock = Objects.requireNonNull(value, "clock must not be null");
            return this;
        }

        /** Sees every event of every queue (default {@link Listener#logging()}); a processor may add its own. */
        public Builder listener(Listener value) {
            this.listener = Objects.requireNonNull(value, "listener must not be null");
            return this;
        }

        /** Retries of sends, synchronous and best effort. Default {@link #DEFAULT_SEND_RETRY}. */
        public Builder sendRetry(RetryPolicy value) {
            this.sendRetry = Objects.requireNonNull(value, "sendRetry must not be null");
            return this;
        }

        /** How long a synchronous send waits for the broker's confirmation, retries included. Default {@link #DEFAULT_SEND_TIMEOUT}. */
        public Builder sendTimeout(Duration value) {
            this.sendTimeout = Args.positive(value, "sendTimeout");
            return this;
        }

        /** Redeliveries of messages failed through a {@link Dequeue}. Default {@link #DEFAULT_REDELIVERY}. */
        public Builder redelivery(RetryPolicy value) {
            this.redelivery = Objects.requireNonNull(value, "redelivery must not be null");
            return this;
        }

        /** Appended to a queue's name to name its dead-letter queue. Default {@value #DEFAULT_DEAD_LETTER_SUFFIX}. */
        public Builder deadLetterSuffix(String value) {
            this.deadLetterSuffix = Args.name(value, "deadLetterSuffix");
            return this;
        }

        /** Size of a {@link Dequeue}'s receive channel. Default {@value ReceiverOptions#DEFAULT_PREFETCH}. */
        public Builder prefetch(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("prefetch must be >= 1, was " + value);
            }
            this.prefetch = value;
            return this;
        }

        /** How many redrives one message may have. Default {@value #DEFAULT_MAX_REDRIVES}. */
        public Builder maxRedrives(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxRedrives must be >= 1, was " + value);
            }
            this.maxRedrives = value;
            return this;
        }

        /**
         * Adds an interceptor: hooks around every send and every handler call of these queues, for
         * tracing and metrics (see {@link Interceptor}). May be called several times; interceptors
         * run in the order added, the first outermost around a handler call. Default: none, and
         * then resq's send and handler paths do no interceptor work at all.
         */
        public Builder interceptor(Interceptor value) {
            interceptors.add(Objects.requireNonNull(value, "interceptor must not be null"));
            return this;
        }

        /**
         * Registers the in-process {@link io.github.resilience4j.retry.Retry} of every processor in
         * {@code value}, so that tools bound to the registry (resilience4j's Micrometer metrics, for
         * one) see it. The entry is named {@code resq-<queue>}, or {@code resq-<queue>@<group>} when a
         * group is named; a processor started later for the same queue and group replaces it, and a
         * processor removes its own entry when it closes. Default: not registered.
         */
        public Builder retryRegistry(RetryRegistry value) {
            this.retryRegistry = Objects.requireNonNull(value, "retryRegistry must not be null");
            return this;
        }

        /**
         * Registers the circuit breaker of every processor that has one in {@code value}, named and
         * replaced as {@link #retryRegistry(RetryRegistry)} says. Default: not registered.
         */
        public Builder circuitBreakerRegistry(CircuitBreakerRegistry value) {
            this.circuitBreakerRegistry = Objects.requireNonNull(value, "circuitBreakerRegistry must not be null");
            return this;
        }

        /**
         * Registers the time limiter of every processor with a {@code timeout} in {@code value}, named
         * and replaced as {@link #retryRegistry(RetryRegistry)} says. Default: not registered.
         */
        public Builder timeLimiterRegistry(TimeLimiterRegistry value) {
            this.timeLimiterRegistry = Objects.requireNonNull(value, "timeLimiterRegistry must not be null");
            return this;
        }

        /** The queues. */
        public Queues build() {
            PayloadCodec payloads = codec != null ? codec : PayloadCodec.jackson(mapper);
            if (transport instanceof InMemoryTransport memory) {
                // A test reads what this Queues wrote with transport.messages(...): in its codec.
                memory.payloadCodec(payloads);
            }
            // Guarded: a listener that throws is logged and ignored, never changes a message's outcome.
            return new Queues(transport, new Settings(mapper, payloads, mode, maxBodySize, clock, Listeners.safe(listener), sendRetry, sendTimeout, redelivery,
                    deadLetterSuffix, prefetch, maxRedrives, Interceptors.of(List.copyOf(interceptors)),
                    new Resilience(retryRegistry, circuitBreakerRegistry, timeLimiterRegistry)));
        }
    }
}
