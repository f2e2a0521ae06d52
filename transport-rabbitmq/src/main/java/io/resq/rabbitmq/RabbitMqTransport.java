package io.resq.rabbitmq;

import com.rabbitmq.client.Address;
import com.rabbitmq.client.AddressResolver;
import com.rabbitmq.client.BlockedListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.impl.recovery.RecordedBinding;
import com.rabbitmq.client.impl.recovery.RecordedConsumer;
import com.rabbitmq.client.impl.recovery.RecordedExchange;
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
import javax.net.ssl.SSLContext;
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
 * they are (see {@link Builder#declareQueues(boolean)}), each with a dead-letter exchange to
 * {@code <queue>_deadletter}; delays go through a fixed set of TTL queues shared by the virtual
 * host (binary delay levels) that dead-letter into the queue; receivers consume with manual acks
 * and {@code basic.qos(prefetch)}. TLS is verified (certificate and host name) unless
 * {@link Builder#insecureTrustAllCertificates()} says otherwise; {@link Builder#addresses(List)}
 * takes the nodes of a cluster.
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
    /** 255 (RabbitMQ's limit) less the delay routing key's prefix, less the dead-letter suffix. */
    static final int MAX_QUEUE_NAME_BYTES = 255 - DelayLevels.KEY_PREFIX_LENGTH - Topology.DEAD_LETTER_SUFFIX.length();
    /** How long a receiver's held-back acks wait at most before the ack timer sends them. */
    static final long ACK_FLUSH_MILLIS = 100;

    private final Endpoint endpoint;
    private final Connection publishing;
    private final Connection consuming;
    private final Topology topology;
    private final Publishers publishers;
    private final ScheduledExecutorService timer;
    private final ScheduledExecutorService ackTimer;
    private final Set<Capability> capabilities;
    private final int maxBodySize;
    private final Duration confirmTimeout;
    private final String serverVersion;
    private final Set<RabbitReceiver> receivers = ConcurrentHashMap.newKeySet();
    /** Consumer tags receivers hold now; the only consumers connection recovery restores. */
    private final Set<String> liveConsumers = ConcurrentHashMap.newKeySet();
    private final List<Address> addresses;
    private final AddressResolver resolver;
    private final Map<String, RabbitSender> senders = new ConcurrentHashMap<>();
    /** Why the broker blocks publishing (a resource alarm), or null. Written by the connection's thread. */
    private volatile String blocked;
    private volatile boolean closed;

    private RabbitMqTransport(Builder b) {
        ConnectionFactory factory = b.factory.clone();
        // Required for "reconnects when it can": recovery restores connections, channels, qos and consumers.
        factory.setAutomaticRecoveryEnabled(true);
        factory.setTopologyRecoveryEnabled(true);
        // Queues, exchanges and bindings are durable and declared on short-lived channels,
        // re-declared on demand (see Topology); recovery restores channels, qos and consumers but
        // does not re-declare them through the closed channels they were declared on. Of the
        // consumers it restores only those a receiver holds now: the client keeps recording a
        // consumer the broker cancelled, which would come back next to its replacement.
        factory.setTopologyRecoveryFilter(new TopologyRecoveryFilter() {
            @Override
            public boolean filterQueue(RecordedQueue queue) {
                return false;
            }

            @Override
            public boolean filterExchange(RecordedExchange exchange) {
                return false;
            }

            @Override
            public boolean filterBinding(RecordedBinding binding) {
                return false;
            }

            @Override
            public boolean filterConsumer(RecordedConsumer consumer) {
                return liveConsumers.contains(consumer.getConsumerTag());
            }
        });
        if (factory.getConnectionTimeout() == 0) {
            factory.setConnectionTimeout((int) Builder.DEFAULT_CONNECT_TIMEOUT.toMillis());
        }
        if (b.insecureTrustAll) {
            Tls.trustingEverything(factory);
        } else if (b.sslContext != null) {
            Tls.verified(factory, b.sslContext);
        } else if (factory.isSSL()) {
            // The caller's factory brings its own trust; the host name is checked whatever it is.
            Tls.verifyHostname(factory);
        }
        this.addresses = b.addresses;
        this.endpoint = b.addresses != null ? Endpoint.of(factory, Endpoint.join(b.addresses, factory.getPort()))
                : b.resolver != null ? Endpoint.of(factory, "the nodes " + b.resolver.getClass().getSimpleName() + " finds")
                : Endpoint.of(factory);
        this.resolver = b.resolver;
        if (b.insecureTrustAll) {
            LOG.warn("TLS to {} trusts every certificate (insecureTrustAllCertificates()): anyone on the network path "
                    + "can read the credentials and messages; use sslContext(...) or a trusted certificate instead", endpoint);
        }
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
        this.publishers = new Publishers(publishing, endpoint, b.publisherChannels, confirmTimeout, topology::unroutable);
        // One timer thread per transport fails overdue publisher confirms (see PublisherChannel#expire).
        this.timer = daemonTimer("resq-rabbitmq-confirm-timer-" + endpoint.address());
        long sweepMillis = Math.max(10, Math.min(1000, confirmTimeout.toMillis() / 4));
        timer.scheduleWithFixedDelay(publishers::expireOverdue, sweepMillis, sweepMillis, TimeUnit.MILLISECONDS);
        // Acks a receiver holds back to send together go out within this even when nothing else settles or polls.
        // A thread of its own: sending takes a receiver's channel lock, which a resubscribing receiver holds for
        // the length of an RPC, and the confirm timer must never wait for that.
        this.ackTimer = daemonTimer("resq-rabbitmq-ack-timer-" + endpoint.address());
        ackTimer.scheduleWithFixedDelay(this::flushAcks, ACK_FLUSH_MILLIS, ACK_FLUSH_MILLIS, TimeUnit.MILLISECONDS);
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
     * never appears in errors or logs. An {@code amqps://} URI connects with TLS, verifying the
     * broker's certificate against the JVM's default trust store ({@code javax.net.ssl.trustStore},
     * else the JDK's {@code cacerts}) and checking that it names the URI's host; see
     * {@link Builder#sslContext(SSLContext)} for another trust store.
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
        if (uri.regionMatches(true, 0, "amqps:", 0, 6)) {
            // Before setUri: given no TLS context, setUri("amqps://...") would install the client's
            // trust-everything one. The transport adds hostname verification to its copy.
            f.useSslProtocol(Tls.defaultContext());
        }
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
        String detail = endpoint + ", RabbitMQ " + serverVersion + ", connected to "
                + publishing.getAddress().getHostAddress() + ":" + publishing.getPort() + ", " + receivers.size() + " receiver(s)";
        return Health.up(blocked == null ? detail : detail + ", publishing blocked by the broker: " + blocked);
    }

    /** The largest body this transport sends: the builder's value, or RabbitMQ's default {@code max_message_size} for the server's version. */
    @Override
    public int maxBodySize() {
        return maxBodySize;
    }

    /** About 46.6 days: the longest delay the shared delay levels can hold a message back for. */
    @Override
    public Duration maxDelay() {
        return Duration.ofMillis(DelayLevels.MAX_DELAY_MILLIS);
    }

    /**
     * Concurrency plus half of it (at least one more): the broker pushes up to this many
     * unacknowledged messages into a receiver's buffer, and with {@code consumer_timeout} (30 min
     * by default) a message that waits there behind many slow handler runs gets the channel
     * closed. The prefetch of 16 or more that suits brokers fetching in batches would let it wait
     * behind 15 of them.
     */
    @Override
    public int defaultPrefetch(int concurrency) {
        return concurrency + Math.max(1, concurrency / 2);
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
        ackTimer.shutdownNow();
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

    private static ScheduledExecutorService daemonTimer(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Ack timer thread: sends every receiver's held-back acks; a failure must not end the schedule. */
    private void flushAcks() {
        for (RabbitReceiver r : receivers) {
            try {
                r.flushAcks();
            } catch (RuntimeException e) {
                LOG.debug("Sending held-back acks of queue '{}' failed: {}", r.queue(), Errors.describe(e));
            }
        }
    }

    void receiverClosed(RabbitReceiver r) {
        receivers.remove(r);
    }

    /** A receiver consumes with {@code tag}: connection recovery restores it. */
    void consumerLive(String tag) {
        liveConsumers.add(tag);
    }

    /** A receiver's consumer was cancelled (by it or by the broker): connection recovery leaves it out. */
    void consumerGone(String tag) {
        liveConsumers.remove(tag);
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
            if (addresses != null) {
                return factory.newConnection(addresses, name);
            }
            if (resolver != null) {
                return factory.newConnection(null, resolver, name);
            }
            return factory.newConnection(name);
        } catch (IOException | TimeoutException | RuntimeException e) {
            String tls = Tls.explain(e, endpoint);
            throw new ResqException("cannot connect to " + endpoint + ": " + (tls != null ? tls : Errors.describe(e)), e);
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
        String wildcard = DelayLevels.unsupportedName(queue);
        if (wildcard != null) {
            throw new IllegalArgumentException(wildcard);
        }
        int bytes = queue.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_QUEUE_NAME_BYTES) {
            throw new IllegalArgumentException("queue name must be at most " + MAX_QUEUE_NAME_BYTES + " bytes of UTF-8 "
                    + "(RabbitMQ allows 255 for names and routing keys; the rest is kept for the '"
                    + Topology.DEAD_LETTER_SUFFIX + "' suffix and the delay routing key), was " + bytes);
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
        private SSLContext sslContext;
        private boolean insecureTrustAll;
        private List<Address> addresses;
        private AddressResolver resolver;

        private Builder(ConnectionFactory factory) {
            this.factory = factory;
        }

        /**
         * The nodes of a cluster to connect to, instead of the factory's host and port. The client
         * tries them in random order when connecting, and again when recovering a lost connection,
         * so recovery moves to a node that is up. The factory still gives the credentials, virtual
         * host, TLS and timeouts. Replaces {@link #addressResolver(AddressResolver)}.
         *
         * <pre>{@code
         * RabbitMqTransport.builder(factory)
         *         .addresses(List.of(new Address("rabbit-1", 5672), new Address("rabbit-2", 5672), new Address("rabbit-3", 5672)))
         *         .build();
         * }</pre>
         */
        public Builder addresses(List<Address> nodes) {
            Objects.requireNonNull(nodes, "addresses must not be null");
            if (nodes.isEmpty()) {
                throw new IllegalArgumentException("addresses must name at least one node, was empty");
            }
            for (int i = 0; i < nodes.size(); i++) {
                Objects.requireNonNull(nodes.get(i), "addresses must not contain null, was null at index " + i);
            }
            this.addresses = List.copyOf(nodes);
            this.resolver = null;
            return this;
        }

        /**
         * Where to find the nodes when the list is only known when connecting (DNS, service
         * discovery): asked on every connect and every recovery attempt, for example the client's
         * {@code DnsRecordIpAddressResolver} or {@code DnsSrvRecordAddressResolver}. Replaces
         * {@link #addresses(List)}.
         */
        public Builder addressResolver(AddressResolver addressResolver) {
            this.resolver = Objects.requireNonNull(addressResolver, "addressResolver must not be null");
            this.addresses = null;
            return this;
        }

        /**
         * Connects with TLS, trusting the certificates {@code context}'s trust managers trust (and
         * presenting its key managers' client certificate, if any), and verifying that the broker's
         * certificate names the host connected to. Use the broker's TLS port (5671 by default; an
         * {@code amqps://} URI sets it). Replaces {@link #insecureTrustAllCertificates()} if that
         * was called.
         *
         * <pre>{@code
         * KeyStore trust = KeyStore.getInstance("PKCS12");
         * trust.load(Files.newInputStream(Path.of("rabbit-ca.p12")), password);
         * TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
         * tmf.init(trust);
         * SSLContext tls = SSLContext.getInstance("TLS");
         * tls.init(null, tmf.getTrustManagers(), null);
         * RabbitMqTransport.builder("amqps://app:secret@rabbit.internal/orders").sslContext(tls).build();
         * }</pre>
         */
        public Builder sslContext(SSLContext context) {
            this.sslContext = Objects.requireNonNull(context, "sslContext must not be null");
            this.insecureTrustAll = false;
            return this;
        }

        /**
         * <b>Insecure:</b> connects with TLS but accepts any certificate for any host, so anyone on
         * the network path can pose as the broker and read the credentials and every message. For
         * a throwaway development broker only; the transport logs a warning when it connects.
         * Replaces {@link #sslContext(SSLContext)} if that was called.
         */
        public Builder insecureTrustAllCertificates() {
            this.insecureTrustAll = true;
            this.sslContext = null;
            return this;
        }

        /** The type of the queues the transport declares; {@link QueueType#QUORUM} by default. */
        public Builder queueType(QueueType type) {
            this.queueType = Objects.requireNonNull(type, "queueType must not be null");
            return this;
        }

        /**
         * Whether the transport declares the queues it uses (durable, of {@link #queueType}); true
         * by default: a queue is declared with a dead-letter exchange to {@code <queue>_deadletter}
         * (declared with it), and the shared delay levels ({@code resq.delay.*}) once. An existing
         * queue with other arguments is used as it is. With false, every queue (and every
         * {@code <queue>_deadletter} a processor uses, and the delay levels with the queue's
         * binding) must exist, and a missing queue fails with an error naming it.
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
