package io.resq.sqs;

import io.resq.Queues;
import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The resq transport for Amazon SQS, built on the {@link SqsClient} the application already has
 * (its credentials, region, endpoint, HTTP client, retries and timeouts stay the application's).
 *
 * <pre>{@code
 * SqsClient sqs = SqsClient.create();
 * Queues queues = Queues.using(SqsTransport.create(sqs));
 * // or, for FIFO queues with per-key order and no queue creation:
 * Transport t = SqsTransport.builder(sqs).fifo(true).createQueues(false).build();
 * }</pre>
 *
 * <p>Mapping: a send is {@code SendMessageBatch}; a receive is a long poll of up to 10 messages;
 * ack is a batched {@code DeleteMessage}; release sets the visibility to 0; a delivery's
 * visibility is extended in the background while it is unsettled. On standard queues a delay is
 * {@code DelaySeconds}, in hops of at most 15 minutes (a message received before it is due is
 * sent again with the time left, then deleted). FIFO queues refuse {@code DelaySeconds}: there a
 * message received before it is due is kept invisible until then (parked), at most
 * {@link Builder#maxParked(int)} per receiver, and the later messages of its group wait for it.
 * Queue URLs are resolved once per name and cached. See docs/transports/sqs.md.
 *
 * <p>Capabilities: {@link Capability#DELAYED_DELIVERY}, {@link Capability#DELIVERY_COUNT}
 * ({@code ApproximateReceiveCount}), {@link Capability#PAUSE}, and in FIFO mode
 * {@link Capability#ORDERED_BY_KEY}. Not {@link Capability#CONSUMER_GROUPS}: all receivers of an
 * SQS queue compete, whatever their group.
 *
 * <p>Thread-safe. Threads it owns: "resq-sqs-acks" threads that send batched deletes (at most one
 * per queue at a time, so a throttled queue delays only its own deletes), one heartbeat thread,
 * and up to four that help send the batches of a large send to a standard queue concurrently.
 */
public final class SqsTransport implements Transport {

    /** SQS's default {@code MaximumMessageSize}: 256 KiB. */
    public static final int DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024;
    /** The largest {@code MaximumMessageSize} SQS allows: 1 MiB. */
    public static final int LARGEST_MAX_MESSAGE_SIZE = 1024 * 1024;
    /** Bytes of a message kept for resq's attributes when computing {@link #maxBodySize()}. */
    static final int ATTRIBUTE_RESERVE = 4096;
    /** How many delayed messages one FIFO receiver keeps parked at most, by default. */
    public static final int DEFAULT_MAX_PARKED = 1_000;
    /** Threads that send the further batches of one large send concurrently. */
    private static final int SEND_THREADS = 4;

    private static final Logger log = LoggerFactory.getLogger(SqsTransport.class);

    private final SqsClient client;
    private final SqsEndpoint endpoint;
    private final QueueRegistry queues;
    private final Set<Capability> capabilities;
    private final int visibilitySeconds;
    private final int maxWaitSeconds;
    private final int maxMessageSize;
    private final int maxParked;
    private final boolean closeClient;
    private final AckBatcher acks;
    private final ScheduledExecutorService heartbeat;
    private final ThreadPoolExecutor sendPool;
    private final Set<SqsReceiver> receivers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private SqsTransport(Builder b) {
        this.client = b.client;
        this.endpoint = SqsEndpoint.of(b.client);
        this.queues = new QueueRegistry(b.client, endpoint, b.createQueues, b.fifo, b.maxMessageSize);
        EnumSet<Capability> caps = EnumSet.of(Capability.DELAYED_DELIVERY, Capability.DELIVERY_COUNT, Capability.PAUSE);
        if (b.fifo) {
            caps.add(Capability.ORDERED_BY_KEY);
        }
        this.capabilities = Set.copyOf(caps);
        this.visibilitySeconds = (int) b.visibilityTimeout.toSeconds();
        this.maxWaitSeconds = (int) b.maxWait.toSeconds();
        this.maxMessageSize = b.maxMessageSize;
        this.maxParked = b.maxParked;
        this.closeClient = b.closeClient;
        this.acks = new AckBatcher(client, endpoint);
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "resq-sqs-heartbeat");
            t.setDaemon(true);
            return t;
        });
        long period = SqsReceiver.heartbeatPeriodMillis(visibilitySeconds);
        heartbeat.scheduleWithFixedDelay(this::beat, period, period, TimeUnit.MILLISECONDS);
        // At most SEND_THREADS extra requests per transport; when all are busy (or the pool is shut
        // down by close) the sending thread does the work itself, which bounds threads and memory
        // and never leaves a send waiting for a task that was dropped.
        this.sendPool = new ThreadPoolExecutor(0, SEND_THREADS, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "resq-sqs-send");
            t.setDaemon(true);
            return t;
        }, (task, pool) -> task.run());
    }

    /** A transport over {@code client} with the defaults of {@link Builder}. */
    public static SqsTransport create(SqsClient client) {
        return builder(client).build();
    }

    /** A builder for a transport over {@code client}. */
    public static Builder builder(SqsClient client) {
        return new Builder(client);
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilities;
    }

    /** A sender for {@code queue}; the queue is resolved (and created if configured) on first send. */
    @Override
    public Sender sender(String queue) {
        requireOpen();
        queues.physicalName(queue);
        return new SqsSender(this, queue);
    }

    /**
     * Checks the queue's name and that of its dead-letter queue, so a name SQS would refuse fails
     * when the processor starts with an {@link IllegalArgumentException}, not at the first dead letter.
     */
    @Override
    public void checkQueues(String queue, String deadLetterQueue) {
        queues.physicalName(queue);
        queues.checkDeadLetterName(queue, deadLetterQueue);
    }

    /**
     * A receiver for {@code queue}. Resolves the queue now, so an unreachable endpoint or a missing
     * queue fails here with an {@link SqsTransportException} naming both. The group is ignored:
     * SQS receivers of one queue always compete.
     */
    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        Objects.requireNonNull(options, "options must not be null");
        requireOpen();
        queues.physicalName(queue);
        SqsReceiver r = new SqsReceiver(this, queues.resolve(queue), options, visibilitySeconds, maxParked);
        receivers.add(r);
        if (closed) {
            r.close();
            throw new IllegalStateException("SQS transport at " + endpoint.address() + " is closed");
        }
        return r;
    }

    /**
     * UP when every queue in use answers a {@code GetQueueAttributes} call now (before any queue
     * is in use: when SQS answers at all); DOWN with the address, the queue and the cause
     * otherwise. Needs no {@code ListQueues} permission. One request per queue in use.
     */
    @Override
    public Health health() {
        if (closed) {
            return Health.down("SQS transport at " + endpoint.address() + " is closed");
        }
        return SqsHealth.check(client, endpoint, queues.inUse(), receivers.size());
    }

    /**
     * The largest body the transport sends: the configured {@code MaximumMessageSize} (256 KiB by
     * default) less {@value #ATTRIBUTE_RESERVE} bytes kept for resq's message attributes. A send
     * is also checked against the queue's own {@code MaximumMessageSize}, attributes included.
     */
    @Override
    public int maxBodySize() {
        return maxMessageSize - ATTRIBUTE_RESERVE;
    }

    int maxMessageSize() {
        return maxMessageSize;
    }

    /**
     * Closes every receiver (making unsettled messages visible again), sends pending acks, stops
     * the transport's threads, and closes the client only if the builder was told to. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        new ArrayList<>(receivers).forEach(SqsReceiver::close);
        acks.close(Duration.ofSeconds(10));
        heartbeat.shutdownNow();
        sendPool.shutdown();
        if (closeClient) {
            client.close();
        }
        log.debug("SQS transport at {} closed", endpoint.address());
    }

    private void beat() {
        for (SqsReceiver r : receivers) {
            try {
                r.extendVisibility();
            } catch (RuntimeException e) {
                log.warn("visibility heartbeat failed", e);
            }
        }
    }

    // ------------------------------------------------------------- for the package

    void requireOpen() {
        if (closed) {
            throw new IllegalStateException("SQS transport at " + endpoint.address() + " is closed");
        }
    }

    SqsClient client() {
        return client;
    }

    SqsEndpoint endpoint() {
        return endpoint;
    }

    QueueRegistry queues() {
        return queues;
    }

    Executor sendPool() {
        return sendPool;
    }

    AckBatcher acks() {
        return acks;
    }

    int maxWaitSeconds() {
        return maxWaitSeconds;
    }

    void forget(SqsReceiver r) {
        receivers.remove(r);
    }

    /** An exception naming the endpoint, what was being done and the cause. */
    SqsTransportException failure(String what, RuntimeException e) {
        if (e instanceof SqsTransportException s) {
            return s;
        }
        return new SqsTransportException(endpoint.describe(what, e), e);
    }

    /** Options of an {@link SqsTransport}; every one has a default. Not thread-safe. */
    public static final class Builder {

        private final SqsClient client;
        private boolean createQueues = true;
        private boolean fifo;
        private Duration visibilityTimeout = Duration.ofSeconds(30);
        private Duration maxWait = Duration.ofSeconds(20);
        private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
        private int maxParked = DEFAULT_MAX_PARKED;
        private boolean closeClient;

        private Builder(SqsClient client) {
            this.client = Objects.requireNonNull(client, "client must not be null");
        }

        /** Create missing queues on first use (default true); when false, using a missing queue fails naming it. */
        public Builder createQueues(boolean create) {
            this.createQueues = create;
            return this;
        }

        /**
         * FIFO mode (default false): every queue is an SQS FIFO queue ({@code name.fifo}), keys become
         * {@code MessageGroupId}s and the transport declares {@link Capability#ORDERED_BY_KEY}.
         * Without it, only names containing {@code .fifo} are FIFO queues.
         */
        public Builder fifo(boolean fifoMode) {
            this.fifo = fifoMode;
            return this;
        }

        /**
         * How long a received message stays invisible to other consumers (default 30 s, 1 s to
         * 12 h). Unsettled deliveries are extended in the background, so this is also how long a
         * crashed consumer's messages take to come back.
         */
        public Builder visibilityTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "visibilityTimeout must not be null");
            if (timeout.toSeconds() < 1 || timeout.compareTo(SqsReceiver.MAX_VISIBILITY) > 0) {
                throw new IllegalArgumentException("visibilityTimeout must be between 1 second and 12 hours, was " + timeout);
            }
            this.visibilityTimeout = timeout;
            return this;
        }

        /** The longest long poll one receive makes (default and maximum 20 s, SQS's limit). */
        public Builder maxWait(Duration wait) {
            Objects.requireNonNull(wait, "maxWait must not be null");
            if (wait.isNegative() || wait.toSeconds() > 20) {
                throw new IllegalArgumentException("maxWait must be between 0 and 20 seconds, was " + wait);
            }
            this.maxWait = wait;
            return this;
        }

        /**
         * The {@code MaximumMessageSize} of queues this transport creates, and the basis of
         * {@link SqsTransport#maxBodySize()} (default 256 KiB, up to 1 MiB). Existing queues keep
         * theirs; sends are checked against each queue's own value.
         */
        public Builder maxMessageSize(int bytes) {
            if (bytes < 1024 + ATTRIBUTE_RESERVE || bytes > LARGEST_MAX_MESSAGE_SIZE) {
                throw new IllegalArgumentException("maxMessageSize must be between " + (1024 + ATTRIBUTE_RESERVE) + " and "
                        + LARGEST_MAX_MESSAGE_SIZE + " bytes, was " + bytes);
            }
            this.maxMessageSize = bytes;
            return this;
        }

        /**
         * FIFO queues: how many not-yet-due messages (delayed redeliveries) one receiver keeps
         * parked at once (default {@value SqsTransport#DEFAULT_MAX_PARKED}, at least 1). A parked
         * message is in flight, and a FIFO queue has an in-flight quota (120,000 per queue on SQS,
         * shared by all its consumers; at the quota receives return nothing). A receiver with this
         * many parked receives nothing more until one of them is due. Keep receivers times this
         * plus their prefetch well under the quota. Standard queues park nothing: a delay is
         * re-sent with {@code DelaySeconds}.
         */
        public Builder maxParked(int messages) {
            if (messages < 1) {
                throw new IllegalArgumentException("maxParked must be >= 1, was " + messages);
            }
            this.maxParked = messages;
            return this;
        }

        /** Close the {@link SqsClient} when the transport closes (default false: the application owns it). */
        public Builder closeClient(boolean close) {
            this.closeClient = close;
            return this;
        }

        /** The transport. Contacts SQS only when a queue is first used. */
        public SqsTransport build() {
            return new SqsTransport(this);
        }
    }
}
