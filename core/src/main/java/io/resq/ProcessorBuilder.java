package io.resq;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.Objects;

/**
 * Configures a {@link Processor}; {@link #start()} builds the immutable configuration and starts
 * fetching. Every option has a default (the {@code DEFAULT_*} constants); only a handler is required.
 *
 * <pre>{@code
 * queues.processor("orders", Order.class)
 *       .retry(RetryPolicy.exponential(Duration.ofMillis(50), 2.0).maxAttempts(3))
 *       .redelivery(RetryPolicy.exponential(Duration.ofSeconds(1), 2.0).maxAttempts(5))
 *       .circuitBreaker(CircuitBreakerConfig.ofDefaults())
 *       .timeout(Duration.ofSeconds(5))
 *       .concurrency(8)
 *       .handler(billing::charge)
 *       .start();
 * }</pre>
 *
 * @param <T> the payload type
 */
public final class ProcessorBuilder<T> {

    /** In-process retries: three calls, 100 ms then 200 ms apart. */
    public static final RetryPolicy DEFAULT_RETRY = RetryPolicy.exponential(Duration.ofMillis(100), 2.0).maxAttempts(3);
    /** Redeliveries through the broker: five deliveries, 1 s, 2 s, 4 s, 8 s apart, then the dead-letter queue. */
    public static final RetryPolicy DEFAULT_REDELIVERY = Queues.DEFAULT_REDELIVERY;
    /** Handlers running at once: 1. */
    public static final int DEFAULT_CONCURRENCY = 1;
    /** Messages fetched ahead of the handlers, at least: 16 (or twice the concurrency when that is more). */
    public static final int DEFAULT_PREFETCH = ReceiverOptions.DEFAULT_PREFETCH;
    /** Largest batch a {@link #batchHandler(BatchHandler)} is given: 100 messages. */
    public static final int DEFAULT_BATCH_SIZE = 100;
    /** How long a batch waits to fill after its first message: 100 ms. */
    public static final Duration DEFAULT_BATCH_WAIT = Duration.ofMillis(100);
    /** How long close() waits for running handlers: 30 s. */
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private final Queues queues;
    final String queue;
    final TypeRef<T> type;
    MsgHandler<T> handler;
    BatchHandler<T> batchHandler;
    int batchSize = DEFAULT_BATCH_SIZE;
    Duration batchWait = DEFAULT_BATCH_WAIT;
    RetryPolicy retry = DEFAULT_RETRY;
    RetryPolicy redelivery = DEFAULT_REDELIVERY;
    private final java.util.Set<Class<? extends Throwable>> abortOn = new java.util.LinkedHashSet<>();
    String deadLetterQueue;
    /** {@code null} until named: see {@link #group(String)}. */
    String group;
    CircuitBreakerConfig circuitBreaker;
    Duration timeout;
    int concurrency = DEFAULT_CONCURRENCY;
    Integer prefetch;
    Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    Listener listener;
    boolean virtualThreads;
    private boolean started;

    ProcessorBuilder(Queues queues, String queue, TypeRef<T> type) {
        this.queues = queues;
        this.queue = queue;
        this.type = type;
        this.deadLetterQueue = queues.deadLetterQueueOf(queue);
    }

    /** The handler, given the payload. Required (this or {@link #msgHandler}). */
    public ProcessorBuilder<T> handler(Handler<T> value) {
        Objects.requireNonNull(value, "handler must not be null");
        this.handler = msg -> value.handle(msg.payload());
        return this;
    }

    /** The handler, given the whole message (id, attempt, error history...). Required (this or {@link #handler}). */
    public ProcessorBuilder<T> msgHandler(MsgHandler<T> value) {
        this.handler = Objects.requireNonNull(value, "msgHandler must not be null");
        return this;
    }

    /**
     * Handles messages in batches instead of one at a time (instead of {@link #handler} or
     * {@link #msgHandler}). A batch holds up to {@link #batchSize(int)} messages and is handed to the
     * handler once full or {@link #batchWait(Duration)} after its first message arrived, whichever
     * comes first. With {@code concurrency(n)} there are n batches in the making at once, each fed
     * by its own share of the keys (all messages of one key go to the same one, in order, so a key's
     * messages are never handled by two batches at once); messages without a key are spread over
     * them. {@code retry}, {@code timeout} and the circuit breaker apply to each handler call, that
     * is to the whole batch; redelivery and the dead-letter queue apply to each message alone (see
     * {@link BatchHandler}). Unless {@link #prefetch(int)} is set, the prefetch is raised to
     * {@code batchSize × concurrency} so batches can fill.
     */
    public ProcessorBuilder<T> batchHandler(BatchHandler<T> value) {
        this.batchHandler = Objects.requireNonNull(value, "batchHandler must not be null");
        return this;
    }

    /** Largest batch given to a {@link #batchHandler}. Default {@link #DEFAULT_BATCH_SIZE}. */
    public ProcessorBuilder<T> batchSize(int value) {
        if (value < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, was " + value);
        }
        this.batchSize = value;
        return this;
    }

    /** How long a batch waits to fill after its first message. Default {@link #DEFAULT_BATCH_WAIT}. */
    public ProcessorBuilder<T> batchWait(Duration value) {
        Objects.requireNonNull(value, "batchWait must not be null");
        if (value.isNegative()) {
            throw new IllegalArgumentException("batchWait must be >= 0, was " + value);
        }
        Args.fitsMillis(value, "batchWait");
        this.batchWait = value;
        return this;
    }

    /** In-process retries of a failed call, order kept, for short glitches. Default {@link #DEFAULT_RETRY}. */
    public ProcessorBuilder<T> retry(RetryPolicy value) {
        this.retry = Objects.requireNonNull(value, "retry must not be null");
        return this;
    }

    /**
     * Redeliveries through the broker once in-process retries are spent: the message goes back with
     * the failure in its history and a delay, then the original is acked. Default {@link #DEFAULT_REDELIVERY}.
     */
    public ProcessorBuilder<T> redelivery(RetryPolicy value) {
        this.redelivery = Objects.requireNonNull(value, "redelivery must not be null");
        return this;
    }

    /** Where messages go when redeliveries are spent. Default: the queue's name + {@code _deadletter}. */
    public ProcessorBuilder<T> deadLetterQueue(String value) {
        this.deadLetterQueue = Args.name(value, "deadLetterQueue");
        return this;
    }

    /** Exceptions that skip every retry and redelivery: the message goes to the dead-letter queue at once. */
    @SafeVarargs
    public final ProcessorBuilder<T> abortOn(Class<? extends Throwable>... types) {
        Objects.requireNonNull(types, "abortOn types must not be null");
        for (Class<? extends Throwable> t : types) {
            abortOn.add(Objects.requireNonNull(t, "abortOn type must not be null"));
        }
        return this;
    }

    /** The retry policy with the builder's abortOn applied, whatever the order of the calls. */
    @SuppressWarnings("unchecked")
    RetryPolicy effectiveRetry() {
        return retry.abortOn(abortOn.toArray(new Class[0]));
    }

    /** The redelivery policy with the builder's abortOn applied. */
    @SuppressWarnings("unchecked")
    RetryPolicy effectiveRedelivery() {
        return redelivery.abortOn(abortOn.toArray(new Class[0]));
    }

    /**
     * A circuit breaker around the handler (resilience4j's own config). While it is open the
     * processor stops fetching — messages wait in the broker — and it resumes through half-open.
     * Default: none.
     */
    public ProcessorBuilder<T> circuitBreaker(CircuitBreakerConfig value) {
        this.circuitBreaker = Objects.requireNonNull(value, "circuitBreaker must not be null");
        return this;
    }

    /** A call running longer is interrupted and fails with status 504. Default: no timeout. */
    public ProcessorBuilder<T> timeout(Duration value) {
        this.timeout = Args.positive(value, "timeout");
        return this;
    }

    /** Handlers running at once (>= 1); messages with the same key still run one at a time, in order. Default 1. */
    public ProcessorBuilder<T> concurrency(int value) {
        this.concurrency = Args.atLeast(value, 1, "concurrency");
        return this;
    }

    /**
     * Messages fetched and not yet settled, at most (>= concurrency). Default: the transport's
     * {@code defaultPrefetch(concurrency)}: max(16, 2 x concurrency) on most transports, concurrency
     * plus half of it on RabbitMQ (see its docs on {@code consumer_timeout}), max(256, 2 x concurrency)
     * on the in-memory transport.
     */
    public ProcessorBuilder<T> prefetch(int value) {
        this.prefetch = Args.atLeast(value, 1, "prefetch");
        return this;
    }

    /** How long {@link Processor#close()} waits for running handlers before interrupting them. Default 30 s. */
    public ProcessorBuilder<T> drainTimeout(Duration value) {
        this.drainTimeout = Args.positive(value, "drainTimeout");
        return this;
    }

    /**
     * The consumer group; processors and dequeues of one group share the queue's messages, and each
     * other group gets every message. There is no default: on a transport with consumer groups
     * (Kafka, Redis Streams) a processor without one uses Kafka's configured {@code group.id}, or
     * fails at {@link #start()} saying to call this. Transports without groups ignore it.
     */
    public ProcessorBuilder<T> group(String value) {
        this.group = Args.name(value, "group");
        return this;
    }

    /** Sees this processor's events, in addition to the {@link Queues}' listener. */
    public ProcessorBuilder<T> listener(Listener value) {
        this.listener = Objects.requireNonNull(value, "listener must not be null");
        return this;
    }

    /** Runs handlers on virtual threads (Java 21 and later; fails on older runtimes). Default: platform threads. */
    public ProcessorBuilder<T> virtualThreads(boolean value) {
        this.virtualThreads = value;
        return this;
    }

    int effectivePrefetch(Transport transport) {
        if (prefetch != null) {
            return prefetch;
        }
        int fallback = Math.max(concurrency, transport.defaultPrefetch(concurrency));
        return batchHandler == null ? fallback : (int) Math.min(Integer.MAX_VALUE, Math.max(fallback, (long) batchSize * concurrency));
    }

    /** Validates the configuration and starts the processor. A builder starts one processor. */
    public Processor<T> start() {
        if (handler == null && batchHandler == null) {
            throw new IllegalStateException("no handler: call handler(...), msgHandler(...) or batchHandler(...) before start()");
        }
        if (handler != null && batchHandler != null) {
            throw new IllegalStateException("both a handler and a batchHandler are set: a processor handles one message or one batch at a time, choose one");
        }
        if (prefetch != null && prefetch < concurrency) {
            throw new IllegalArgumentException("prefetch must be >= concurrency (" + concurrency + "), was " + prefetch);
        }
        if (started) {
            throw new IllegalStateException("this builder already started a processor; call queues.processor(...) again for another");
        }
        started = true;
        DefaultProcessor<T> p = new DefaultProcessor<>(queues.transport(), queues.settings, queues.codec(type), this);
        queues.register(p);
        p.start();
        if (queues.settings.interceptors() != null) {
            queues.settings.interceptors().onProcessorStarted(p);
        }
        return p;
    }
}
