package io.resq.rabbitmq;

import com.rabbitmq.client.BlockedListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.impl.recovery.RecordedQueue;
import com.rabbitmq.client.impl.recovery.TopologyRecoveryFilter;
import io.resq.ResqException;
import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RabbitMQ transport, on the official {@code amqp-client}.
 *
 * <pre>{@code
 * ConnectionFactory factory = new ConnectionFactory();
 * factory.setUri("amqp://app:secret@rabbit:5672/orders");
 * Queues queues = Queues.using(RabbitMqTransport.create(factory));
 * }</pre>
 *
 * <p>It opens two connections (one publishing, one consuming, so that flow control on publishers
 * never stalls consumers), with automatic connection and topology recovery on. Sends are
 * persistent, mandatory and confirmed; queues are durable, quorum by default, declared or used as
 * they are (see {@link Builder#declareQueues(boolean)}); delays go through per-delay TTL queues
 * that dead-letter back into the queue; receivers consume with manual acks and
 * {@code basic.qos(prefetch)}.
 *
 * <p>Capabilities: {@link Capability#DELAYED_DELIVERY} and {@link Capability#PAUSE} always,
 * {@link Capability#DELIVERY_COUNT} with quorum queues. Not {@link Capability#CONSUMER_GROUPS}
 * (receivers of a queue compete whatever their group) and not {@link Capability#ORDERED_BY_KEY}
 * (competing consumers and prefetch can overtake one another).
 *
 * <p>Thread-safe. Nothing is static: each transport owns its connections, and {@link #close()}
 * closes them.
 */
public final class RabbitMqTransport implements Transport {

    private static final Logger LOG = LoggerFactory.getLogger(RabbitMqTransport.class);
    /** RabbitMQ 3.8 to 3.13 accept bodies up to 128 MiB by default ({@code max_message_size}). */
    static final int DEFAULT_LIMIT_3X = 128 * 1024 * 1024;
    /** RabbitMQ 4.0 lowered the default {@code max_message_size} to 16 MiB. */
    static final int DEFAULT_LIMIT_4X = 16 * 1024 * 1024;

    private final Endpoint endpoint;
    private final Connection publishing;
    private final Connection consuming;
    private final Topology topology;
    private final Publishers publishers;
    private final ScheduledExecutorService timer;
    private final Set<Capability> capabilities;
    private final int maxBodySize;
    private final Duration confirmTimeout;
    private final String serverVersion;
    private final Set<RabbitReceiver> receivers = ConcurrentHashMap.newKeySet();
    private final Map<String, RabbitSender> senders = new ConcurrentHashMap<>();
    /** Why the broker blocks publishing (a resource alarm), or null. Written by the connection's thread. */
    private volatile String blocked;
    private volatile boolean closed;

    private RabbitMqTransport(Builder b) {
        ConnectionFactory factory = b.factory.clone();
        // Required for "reconnects when it can": recovery restores connections, channels, qos and consumers.
        factory.setAutomaticRecoveryEnabled(true);
        factory.setTopologyRecoveryEnabled(true);
        // Queues are durable and declared on short-lived channels, re-declared on demand (see
        // Topology); recovery restores channels, qos and consumers but does not re-declare queues
        // through the closed channels they were declared on.
        factory.setTopologyRecoveryFilter(new TopologyRecoveryFilter() {
            @Override
            public boolean filterQueue(RecordedQueue queue) {
                return false;
            }
        });
        if (factory.getConnectionTimeout() == 0) {
            factory.setConnectionTimeout((int) Builder.DEFAULT_CONNECT_TIMEOUT.toMillis());
        }
        this.endpoint = Endpoint.of(factory);
        this.publishing = connect(factory, b.connectionName + "-publisher");
        try {
            this.consuming = connect(factory, b.connectionName + "-consumer");
        } catch (RuntimeException e) {
            closeQuietly(publishing);
            throw e;
        }
        Object version = publishing.getServerProperties().get("version");
        this.serverVersion = version == null ? "unknown" : version.toString();
        this.maxBodySize = b.maxBodySize > 0 ? b.maxBodySize : defaultLimit(serverVersion);
        this.confirmTimeout = b.confirmTimeout;
        this.topology = new Topology(publishing, endpoint, b.queueType, b.declareQueues);
        this.publishers = new Publishers(publishing, endpoint, b.publisherChannels, confirmTimeout, topology::forget);
        // One timer thread per transport fails overdue publisher confirms (see PublisherChannel#expire).
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "resq-rabbitmq-confirm-timer-" + endpoint.address());
            t.setDaemon(true);
            return t;
        });
        long sweepMillis = Math.max(10, Math.min(1000, confirmTimeout.toMillis() / 4));
        timer.scheduleWithFixedDelay(publishers::expireOverdue, sweepMillis, sweepMillis, TimeUnit.MILLISECONDS);
        EnumSet<Capability> caps = EnumSet.of(Capability.DELAYED_DELIVERY, Capability.PAUSE);
        if (b.queueType == QueueType.QUORUM) {
            caps.add(Capability.DELIVERY_COUNT);
        }
        this.capabilities = Set.copyOf(caps);
        publishing.addBlockedListener(new BlockedListener() {
            @Override
            public void handleBlocked(String reason) {
                blocked = reason;
                LOG.warn("{} blocks publishing: {}", endpoint, reason);
            }

            @Override
            public void handleUnblocked() {
                blocked = null;
                LOG.info("{} accepts publishing again", endpoint);
            }
        });
        LOG.info("Connected to {} (RabbitMQ {}), {} queues, body limit {} bytes", endpoint, serverVersion,
                b.queueType, maxBodySize);
    }

    /** A transport with the defaults (quorum queues, declared as needed) on a copy of {@code factory}. */
    public static RabbitMqTransport create(ConnectionFactory factory) {
        return builder(factory).build();
    }

    /**
     * A transport for an AMQP URI such as {@code amqp://user:password@host:5672/vhost}; the password
     * never appears in errors or logs.
     */
    public static RabbitMqTransport create(String uri) {
        return builder(factory(uri)).build();
    }

    /** A builder on a copy of {@code factory}: the transport never changes the caller's factory. */
    public static Builder builder(ConnectionFactory factory) {
        return new Builder(Objects.requireNonNull(factory, "factory must not be null"));
    }

    /** A builder for an AMQP URI; see {@link #create(String)}. */
    public static Builder builder(String uri) {
        return new Builder(factory(uri));
    }

    private static ConnectionFactory factory(String uri) {
        Objects.requireNonNull(uri, "uri must not be null");
        ConnectionFactory f = new ConnectionFactory();
        try {
            f.setUri(uri);
        } catch (Exception e) {
            throw new IllegalArgumentException("not a valid AMQP URI: " + Endpoint.mask(uri) + " (" + e.getClass().getSimpleName() + ")");
        }
        f.setConnectionTimeout((int) Builder.DEFAULT_CONNECT_TIMEOUT.toMillis());
        f.setHandshakeTimeout((int) Builder.DEFAULT_CONNECT_TIMEOUT.toMillis());
        return f;
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilities;
    }

    /**
     * A sender for {@code queue}. With declaring on (the default) the queue is declared now if it
     * does not exist; with it off, a missing queue fails here.
     *
     * @throws IllegalStateException if the transport is closed
     * @throws ResqException if the queue cannot be declared or does not exist, naming the broker and the cause
     */
    @Override
    public Sender sender(String queue) {
        requireName(queue);
        requireOpen();
        topology.ensureQueue(queue);
        return senders.computeIfAbsent(queue, q -> new RabbitSender(this, q));
    }

    /**
     * A receiver consuming {@code queue} with {@code options.prefetch()} as {@code basic.qos}. The
     * group is not used: receivers of a queue compete for its messages.
     */
    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        requireName(queue);
        Objects.requireNonNull(options, "options must not be null");
        requireOpen();
        RabbitReceiver r = new RabbitReceiver(this, queue, options.prefetch());
        receivers.add(r);
        if (closed) {
            r.close();
            requireOpen();
        }
        return r;
    }

    /** UP while both connections are open and every receiver consumes; DOWN with the address and the cause otherwise. */
    @Override
    public Health health() {
        if (closed) {
            return Health.down(endpoint + ": transport is closed");
        }
        List<String> problems = new ArrayList<>();
        if (!publishing.isOpen()) {
            problems.add("publishing connection lost (" + closeReason(publishing) + "), recovering");
        }
        if (!consuming.isOpen()) {
            problems.add("consuming connection lost (" + closeReason(consuming) + "), recovering");
        }
        for (RabbitReceiver r : receivers) {
            String p = r.problem();
            if (p != null) {
                problems.add(p);
            }
        }
        if (!problems.isEmpty()) {
            return Health.down(endpoint + ": " + String.join("; ", problems));
        }
        String detail = endpoint + ", RabbitMQ " + serverVersion + ", " + receivers.size() + " receiver(s)";
        return Health.up(blocked == null ? detail : detail + ", publishing blocked by the broker: " + blocked);
    }

    /** The largest body this transport sends: the builder's value, or RabbitMQ's default {@code max_message_size} for the server's version. */
    @Override
    public int maxBodySize() {
        return maxBodySize;
    }

    /** Closes every receiver (their unacknowledged messages go back to the queues) and both connections. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        new ArrayList<>(receivers).forEach(RabbitReceiver::close);
        publishers.close();
        timer.shutdownNow();
        closeQuietly(consuming);
        closeQuietly(publishing);
        LOG.info("Closed the connections to {}", endpoint);
    }

    @Override
    public String toString() {
        return "RabbitMqTransport[" + endpoint + "]";
    }

    // ------------------------------------------------------------ for the package

    Endpoint endpoint() {
        return endpoint;
    }

    Topology topology() {
        return topology;
    }

    Publishers publishers() {
        return publishers;
    }

    Connection consumerConnection() {
        return consuming;
    }

    boolean consumerConnectionOpen() {
        return consuming.isOpen();
    }

    void receiverClosed(RabbitReceiver r) {
        receivers.remove(r);
    }

    /** Fails fast instead of blocking a sender while the transport cannot publish. */
    void checkCanPublish(String queue) {
        if (closed) {
            throw new IllegalStateException("RabbitMQ transport is closed; cannot send to queue '" + queue + "'");
        }
        String reason = blocked;
        if (reason != null) {
            throw new ResqException(endpoint + " blocks publishing (" + reason + "); not sending to queue '" + queue + "'");
        }
        if (!publishing.isOpen()) {
            throw new ResqException("cannot send to queue '" + queue + "': the connection to " + endpoint + " is lost ("
                    + closeReason(publishing) + "); automatic recovery is reconnecting");
        }
    }

    // ------------------------------------------------------------ private

    private Connection connect(ConnectionFactory factory, String name) {
        try {
            return factory.newConnection(name);
        } catch (IOException | TimeoutException | RuntimeException e) {
            throw new ResqException("cannot connect to " + endpoint + ": " + Errors.describe(e), e);
        }
    }

    private static String closeReason(Connection c) {
        return c.getCloseReason() == null ? "no reason given" : Errors.describe(c.getCloseReason());
    }

    private void closeQuietly(Connection c) {
        try {
            c.close(5_000);
        } catch (IOException | RuntimeException e) {
            c.abort(1_000);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("RabbitMQ transport to " + endpoint + " is closed");
        }
    }

    private static void requireName(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        if (queue.isBlank()) {
            throw new IllegalArgumentException("queue must not be blank");
        }
        if (queue.length() > 200) {
            throw new IllegalArgumentException("queue name must be at most 200 characters (RabbitMQ allows 255, "
                    + "the rest is kept for delay queue names), was " + queue.length());
        }
    }

    static int defaultLimit(String version) {
        try {
            int major = Integer.parseInt(version.split("\\.")[0]);
            return major >= 4 ? DEFAULT_LIMIT_4X : DEFAULT_LIMIT_3X;
        } catch (RuntimeException e) {
            return DEFAULT_LIMIT_4X; // unknown server: the smaller default is the safe guess
        }
    }

    /**
     * Options of a {@link RabbitMqTransport}. Not thread-safe; build once.
     */
    public static final class Builder {

        static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

        private final ConnectionFactory factory;
        private QueueType queueType = QueueType.QUORUM;
        private boolean declareQueues = true;
        private int maxBodySize;
        private Duration confirmTimeout = Duration.ofSeconds(30);
        private int publisherChannels = 2;
        private String connectionName = "resq";

        private Builder(ConnectionFactory factory) {
            this.factory = factory;
        }

        /** The type of the queues the transport declares; {@link QueueType#QUORUM} by default. */
        public Builder queueType(QueueType type) {
            this.queueType = Objects.requireNonNull(type, "queueType must not be null");
            return this;
        }

        /**
         * Whether the transport declares the queues it uses (durable, of {@link #queueType}); true
         * by default. An existing queue with other arguments is used as it is. With false, every
         * queue (and every {@code <queue>_deadletter} and {@code <queue>_delay_<ms>ms} queue a
         * processor uses) must exist, and a missing one fails with an error naming it.
         */
        public Builder declareQueues(boolean declare) {
            this.declareQueues = declare;
            return this;
        }

        /**
         * The broker's {@code max_message_size} in bytes, when it is not the default of the
         * server's version (128 MiB for 3.8–3.13, 16 MiB for 4.x). Larger bodies are refused
         * before they reach the wire.
         */
        public Builder maxBodySize(int bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBodySize must be >= 1, was " + bytes);
            }
            this.maxBodySize = bytes;
            return this;
        }

        /** How long a send waits for the broker's publisher confirm before failing; 30 s by default. */
        public Builder confirmTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "confirmTimeout must not be null");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("confirmTimeout must be > 0, was " + timeout);
            }
            this.confirmTimeout = timeout;
            return this;
        }

        /** How many channels publish in parallel; 2 by default. */
        public Builder publisherChannels(int channels) {
            if (channels < 1) {
                throw new IllegalArgumentException("publisherChannels must be >= 1, was " + channels);
            }
            this.publisherChannels = channels;
            return this;
        }

        /**
         * The client-provided name of the connections, as the management UI and
         * {@code rabbitmqctl list_connections} show it: {@code <name>-publisher} and
         * {@code <name>-consumer}; {@code resq} by default.
         */
        public Builder connectionName(String name) {
            Objects.requireNonNull(name, "connectionName must not be null");
            if (name.isBlank()) {
                throw new IllegalArgumentException("connectionName must not be blank");
            }
            this.connectionName = name;
            return this;
        }

        /**
         * Connects and returns the transport.
         *
         * @throws ResqException if the broker cannot be reached, naming host:port and the cause
         */
        public RabbitMqTransport build() {
            return new RabbitMqTransport(this);
        }
    }
}
