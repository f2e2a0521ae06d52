package io.resq.kafka;

import io.resq.ResqException;
import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka transport: a resq queue is a Kafka topic, a resq group a Kafka consumer group.
 *
 * <pre>{@code
 * Map<String, Object> config = Map.of("bootstrap.servers", "kafka-1:9092,kafka-2:9092",
 *                                     "security.protocol", "SASL_SSL", ...);   // what your consumers already use
 * Queues queues = Queues.using(KafkaTransport.create(config));
 * }</pre>
 *
 * <p>The client configuration passes through untouched to the producer, the consumers and the
 * admin client, except serializers, {@code enable.auto.commit} (always false: offsets are
 * committed per partition up to the highest contiguously acked record) and {@code group.id}
 * (the receiver's group; a configured {@code group.id} replaces resq's default group "resq").
 * A delay sends the record to {@code <topic>_retry} with its due time; receivers read that topic
 * too and pause its partitions until the head record is due. See docs/transports/kafka.md.
 *
 * <p>{@link #create} contacts the cluster once (bounded by the connect timeout) and fails with
 * the address and the cause if it does not answer. Thread-safe.
 */
public final class KafkaTransport implements Transport {

    /** Default suffix of the retry topic that carries delayed records. */
    public static final String DEFAULT_RETRY_SUFFIX = "_retry";
    /** Bytes of a record's size limit reserved for its key, headers and batch framing. */
    static final int FRAMING_BYTES = 512;

    private static final Logger LOG = LoggerFactory.getLogger(KafkaTransport.class);
    private static final Pattern TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final Set<Capability> CAPABILITIES = Set.copyOf(EnumSet.of(
            Capability.DELAYED_DELIVERY, Capability.ORDERED_BY_KEY, Capability.CONSUMER_GROUPS, Capability.PAUSE));

    private final KafkaClientConfig config;
    private final KafkaAdmin admin;
    private final Producer<byte[], byte[]> producer;
    private final boolean autoCreateTopics;
    /** Missing tier topics already warned about. */
    private final Set<String> missingTiersLogged = ConcurrentHashMap.newKeySet();
    private final String retrySuffix;
    private final Duration connectTimeout;
    private final Duration closeTimeout;
    private final int brokerMessageMaxBytes;
    private final int maxRecordSize;
    private final Set<KafkaReceiver> receivers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private KafkaTransport(Builder b) {
        this.config = new KafkaClientConfig(b.config);
        this.autoCreateTopics = b.autoCreateTopics;
        this.retrySuffix = b.retrySuffix;
        this.connectTimeout = b.connectTimeout;
        this.closeTimeout = b.closeTimeout;
        this.admin = new KafkaAdmin(Admin.create(config.admin(connectTimeout)), config.bootstrap(), connectTimeout,
                b.partitions, b.replicationFactor);
        try {
            String cluster = admin.describeCluster(connectTimeout);
            this.brokerMessageMaxBytes = admin.brokerMessageMaxBytes();
            this.maxRecordSize = Math.min(brokerMessageMaxBytes, config.maxRequestSize());
            this.producer = new KafkaProducer<>(config.producer());
            LOG.info("Kafka transport connected to {} ({}); record limit {} bytes", config.bootstrap(), cluster, maxRecordSize);
        } catch (RuntimeException e) {
            admin.close();
            throw e;
        }
    }

    /** A transport with the default options from the user's Kafka client config ({@code bootstrap.servers} required). */
    public static KafkaTransport create(Map<String, Object> kafkaClientConfig) {
        return builder(kafkaClientConfig).build();
    }

    /** A builder for more options. */
    public static Builder builder(Map<String, Object> kafkaClientConfig) {
        return new Builder(kafkaClientConfig);
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Sender sender(String queue) {
        requireTopic(queue);
        requireOpen();
        ensureTopics(List.of(queue));
        return new KafkaSender(this, queue);
    }

    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        requireTopic(queue);
        Objects.requireNonNull(options, "options must not be null");
        requireOpen();
        String group = config.groupFor(options.group());
        if (group == null) {
            throw ReceiverOptions.noGroup("Kafka at " + config.bootstrap(), queue);
        }
        // The shared retry topics hold delayed sends; the group's own hold its redeliveries. One per
        // delay tier each, all read from the start, so a tier first used later is read at once.
        List<String> retries = new ArrayList<>(DelayTiers.all(retryTopic(queue)));
        retries.addAll(DelayTiers.all(retryTopic(queue, group)));
        ensureTopics(List.of(queue));
        if (autoCreateTopics) {
            ensureTopics(retries, queue);
        } else {
            // Topics someone else provisions: read the tiers that exist (a consumer subscribed to a
            // missing topic warns on every metadata refresh); senders fall back to the base topic.
            List<String> tiers = new ArrayList<>(retries);
            tiers.remove(retryTopic(queue));
            tiers.remove(retryTopic(queue, group));
            List<String> present = admin.existing(tiers);
            retries.removeIf(t -> tiers.contains(t) && !present.contains(t));
        }
        // One set of settings for every consumer this receiver makes: a replacement keeps the static member id.
        Map<String, Object> consumerConfig = config.consumer(group, queue);
        KafkaReceiver[] self = new KafkaReceiver[1];
        // Pausing at a small prefetch would cost a fetch round trip every few records (3x slower,
        // measured); the core's prefetch still bounds what is handed out.
        HoldLimit holdLimit = HoldLimit.of(options.prefetch(), config.maxPollRecords(), config.maxPartitionFetchBytes());
        // Well below max.poll.interval.ms: the wait runs inside poll().
        Duration revocationWait = closeTimeout.compareTo(config.maxPollInterval().dividedBy(3)) < 0 ? closeTimeout
                : config.maxPollInterval().dividedBy(3);
        self[0] = new KafkaReceiver(queue, retries, group, holdLimit, () -> new KafkaConsumer<>(consumerConfig), closeTimeout,
                revocationWait,
                () -> receivers.remove(self[0]));
        receivers.add(self[0]);
        self[0].start();
        if (closed) {
            // close() ran while this receiver was being made; do not leak its consumer thread.
            self[0].close();
            throw closedException();
        }
        return self[0];
    }

    /** The group named, else the {@code group.id} of the client configuration, else {@code null}. */
    @Override
    public String effectiveGroup(String requested) {
        return config.groupFor(requested);
    }

    @Override
    public Health health() {
        if (closed) {
            return Health.down("Kafka transport to " + config.bootstrap() + " is closed");
        }
        for (KafkaReceiver r : receivers) {
            RuntimeException failure = r.failure();
            if (failure != null) {
                return Health.down("Kafka receiver of topic '" + r.topic() + "' at " + config.bootstrap() + " failed: " + failure);
            }
            RuntimeException recovering = r.degradedBy();
            if (recovering != null) {
                return Health.down("Kafka receiver of topic '" + r.topic() + "' at " + config.bootstrap()
                        + " is recreating its consumer after: " + recovering);
            }
        }
        try {
            String cluster = admin.describeCluster(connectTimeout.compareTo(Duration.ofSeconds(3)) < 0 ? connectTimeout : Duration.ofSeconds(3));
            return Health.up("Kafka at " + config.bootstrap() + ": " + cluster + ", " + receivers.size() + " receiver(s)");
        } catch (RuntimeException e) {
            return Health.down(e.getMessage());
        }
    }

    /**
     * The largest body accepted: the smaller of the broker's {@code message.max.bytes} and the
     * producer's {@code max.request.size}, less {@value #FRAMING_BYTES} bytes for key, headers and framing.
     */
    @Override
    public int maxBodySize() {
        return maxRecordSize - FRAMING_BYTES;
    }

    /** Closes every receiver (committing what was acked), then the producer (flushing) and the admin client. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (KafkaReceiver r : new ArrayList<>(receivers)) {
            r.close();
        }
        try {
            producer.close(closeTimeout);
        } catch (RuntimeException e) {
            LOG.warn("Closing the Kafka producer for {} failed: {}", config.bootstrap(), e.toString());
        }
        admin.close();
    }

    // ------------------------------------------------------------ for senders and receivers

    boolean isClosed() {
        return closed;
    }

    Producer<byte[], byte[]> producer() {
        return producer;
    }

    String bootstrap() {
        return config.bootstrap();
    }

    /**
     * The retry topic a record delayed by {@code delayMs} goes to: its delay tier's topic, or with
     * {@code autoCreateTopics(false)} the base topic when that tier's topic was not provisioned
     * (logged once per topic), where a long delay can hold back shorter ones.
     */
    String retryTarget(String base, long delayMs) {
        String tier = DelayTiers.topicFor(base, delayMs);
        if (autoCreateTopics || tier.equals(base) || !admin.existing(List.of(tier)).isEmpty()) {
            return tier;
        }
        if (missingTiersLogged.add(tier)) {
            LOG.warn("Kafka topic '{}' at {} does not exist and autoCreateTopics is off: records delayed by {} ms and the like go "
                    + "to '{}', where they can hold back shorter delays; create '{}' to keep them apart", tier, config.bootstrap(),
                    delayMs, base, tier);
        }
        return base;
    }

    /** The {@code retention.ms} of {@code topic}, or -1 for unlimited or unknown. */
    long retentionMs(String topic) {
        return admin.retentionMs(topic);
    }

    String retryTopic(String topic) {
        return topic + retrySuffix;
    }

    /**
     * The retry topic of {@code group}'s redeliveries of {@code topic}: {@code <topic>_retry-<group>},
     * read by that group only. A group name that is not a legal topic name, or too long, is
     * replaced by a readable part of it and a hash of the whole, so distinct groups never share one.
     */
    String retryTopic(String topic, String group) {
        return GroupTopics.retryTopic(topic + retrySuffix, group);
    }

    int maxRecordSize() {
        return maxRecordSize;
    }

    String limitExplanation() {
        return "broker message.max.bytes " + brokerMessageMaxBytes + ", producer max.request.size " + config.maxRequestSize()
                + ", less " + FRAMING_BYTES + " bytes for key, headers and framing";
    }

    void ensureTopics(java.util.Collection<String> topics) {
        ensureTopics(topics, null);
    }

    /** As {@link #ensureTopics(java.util.Collection)}, new topics getting {@code mirrorOf}'s partition count. */
    void ensureTopics(java.util.Collection<String> topics, String mirrorOf) {
        if (autoCreateTopics) {
            admin.ensureTopics(topics, mirrorOf);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw closedException();
        }
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("Kafka transport to " + config.bootstrap() + " is closed");
    }

    private void requireTopic(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        if (!TOPIC_NAME.matcher(queue).matches() || queue.equals(".") || queue.equals("..")
                || (queue + retrySuffix).length() + DelayTiers.MAX_SUFFIX_LENGTH > GroupTopics.MAX_TOPIC_LENGTH) {
            throw new IllegalArgumentException("queue '" + queue + "' is not a valid Kafka topic name (letters, digits, '.', '_', '-'; "
                    + "at most " + (GroupTopics.MAX_TOPIC_LENGTH - retrySuffix.length() - DelayTiers.MAX_SUFFIX_LENGTH)
                    + " characters so that its retry topics '" + retrySuffix + "...' fit)");
        }
    }

    /** Options of a {@link KafkaTransport}; every one has a documented default. */
    public static final class Builder {

        private final Map<String, Object> config;
        private boolean autoCreateTopics = true;
        private Optional<Integer> partitions = Optional.empty();
        private Optional<Short> replicationFactor = Optional.empty();
        private String retrySuffix = DEFAULT_RETRY_SUFFIX;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration closeTimeout = Duration.ofSeconds(10);

        private Builder(Map<String, Object> config) {
            this.config = Objects.requireNonNull(config, "kafkaClientConfig must not be null");
        }

        /**
         * Whether senders and receivers create missing topics (the topic, its retry topic, dead-letter
         * topics) through the admin client. Default true. Turn it off where topics are provisioned
         * elsewhere; then create {@code <topic>_retry} too if you use delays or redelivery.
         */
        public Builder autoCreateTopics(boolean create) {
            this.autoCreateTopics = create;
            return this;
        }

        /** Partitions of topics this transport creates. Default: the broker's {@code num.partitions}. */
        public Builder topicPartitions(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("topicPartitions must be >= 1, was " + count);
            }
            this.partitions = Optional.of(count);
            return this;
        }

        /** Replication factor of topics this transport creates. Default: the broker's {@code default.replication.factor}. */
        public Builder replicationFactor(int factor) {
            if (factor < 1 || factor > Short.MAX_VALUE) {
                throw new IllegalArgumentException("replicationFactor must be between 1 and " + Short.MAX_VALUE + ", was " + factor);
            }
            this.replicationFactor = Optional.of((short) factor);
            return this;
        }

        /** Suffix of the retry topic that holds delayed records. Default {@value KafkaTransport#DEFAULT_RETRY_SUFFIX}. */
        public Builder retryTopicSuffix(String suffix) {
            Objects.requireNonNull(suffix, "retryTopicSuffix must not be null");
            if (!TOPIC_NAME.matcher(suffix).matches()) {
                throw new IllegalArgumentException("retryTopicSuffix must be letters, digits, '.', '_' or '-', was '" + suffix + "'");
            }
            this.retrySuffix = suffix;
            return this;
        }

        /** Bound on contacting the cluster in {@link #build()}, on health checks and on topic creation. Default 10 s. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /** Bound on committing and closing each consumer and on flushing the producer at close. Default 10 s. */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = positive(timeout, "closeTimeout");
            return this;
        }

        /**
         * Connects and returns the transport.
         *
         * @throws IllegalArgumentException if {@code bootstrap.servers} is missing
         * @throws ResqException            if the cluster does not answer within the connect timeout,
         *                                  with the address and the cause
         */
        public KafkaTransport build() {
            return new KafkaTransport(this);
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name + " must not be null");
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be > 0, was " + d);
            }
            return d;
        }
    }
}
