package io.resq.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The user's Kafka client configuration, split into admin, producer and consumer configs.
 *
 * <p>Everything the user set passes through untouched (bootstrap servers, security, SASL/TLS,
 * tuning), except what a byte-moving, manually committing transport must own: serializers,
 * {@code enable.auto.commit} and the consumer's {@code group.id}. Where the user set nothing, a
 * few defaults bound the time a dead broker can block a caller. Immutable.
 */
final class KafkaClientConfig {

    /** Default {@code max.block.ms} of the producer: how long {@code send} may wait for metadata. */
    static final int DEFAULT_MAX_BLOCK_MS = 10_000;
    /** Default {@code request.timeout.ms} of the producer. */
    static final int DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
    /**
     * Default {@code delivery.timeout.ms} of the producer: the bound on a send's retries; raised to
     * {@code linger.ms + request.timeout.ms} when the user's settings need more, as Kafka requires.
     */
    static final int DEFAULT_DELIVERY_TIMEOUT_MS = 30_000;
    /** Kafka's own {@code linger.ms} default (clients 4.x). */
    static final int KAFKA_DEFAULT_LINGER_MS = 5;

    private final Map<String, Object> user;
    private final String bootstrap;
    private final AtomicInteger clientIds = new AtomicInteger();
    /** Receivers made so far per (group, topic): the suffix of their static member ids. */
    private final Map<String, AtomicInteger> instances = new java.util.concurrent.ConcurrentHashMap<>();

    KafkaClientConfig(Map<String, Object> config) {
        Objects.requireNonNull(config, "kafkaClientConfig must not be null");
        Map<String, Object> copy = new HashMap<>();
        config.forEach((k, v) -> {
            if (k != null && v != null) {
                copy.put(k, v);
            }
        });
        Object servers = copy.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || servers.toString().isBlank()) {
            throw new IllegalArgumentException("bootstrap.servers must be set in the Kafka client config");
        }
        if (copy.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG)) {
            // A transactional producer refuses every send made outside a transaction, and resq's
            // sends and redelivery copies are not transactions: fail here, not at the first send.
            throw new IllegalArgumentException("transactional.id is not supported by the resq Kafka transport: its producer is "
                    + "idempotent (exactly one copy per send on a retry) but sends outside transactions; remove transactional.id "
                    + "from the configuration given to KafkaTransport");
        }
        this.user = Map.copyOf(copy);
        this.bootstrap = displayable(servers);
    }

    /** The bootstrap servers as host:port list, safe for messages and health (any user-info masked). */
    String bootstrap() {
        return bootstrap;
    }

    /**
     * The consumer group a receiver uses: the one named with {@code group(...)}, else the configured
     * {@code group.id}, else {@code null} (there is no group shared by unrelated applications).
     */
    String groupFor(String requested) {
        if (requested != null) {
            return requested;
        }
        Object configured = user.get(ConsumerConfig.GROUP_ID_CONFIG);
        return configured != null && !configured.toString().isBlank() ? configured.toString() : null;
    }

    /** The user's producer {@code max.request.size}, or Kafka's default. */
    int maxRequestSize() {
        return intSetting(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1024 * 1024);
    }

    /** The user's consumer {@code max.poll.records}, or Kafka's default. */
    int maxPollRecords() {
        return intSetting(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, ConsumerConfig.DEFAULT_MAX_POLL_RECORDS);
    }

    /** The user's consumer {@code max.poll.interval.ms}, or Kafka's default (5 minutes). */
    Duration maxPollInterval() {
        return Duration.ofMillis(intSetting(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 300_000));
    }

    /** The user's consumer {@code max.partition.fetch.bytes}, or Kafka's default. */
    int maxPartitionFetchBytes() {
        return intSetting(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, ConsumerConfig.DEFAULT_MAX_PARTITION_FETCH_BYTES);
    }

    private int intSetting(String name, int kafkaDefault) {
        Object v = user.get(name);
        if (v == null) {
            return kafkaDefault;
        }
        try {
            return Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Kafka setting " + name + " must be an integer, was '" + v + "'", e);
        }
    }

    Map<String, Object> admin(Duration apiTimeout) {
        Map<String, Object> c = only(AdminClientConfig.configNames());
        int ms = (int) Math.min(Integer.MAX_VALUE, apiTimeout.toMillis());
        c.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        // The admin client refuses default.api.timeout.ms below request.timeout.ms: a user's longer
        // request timeout stretches the API timeout rather than failing create().
        c.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                Math.max(ms, intSetting(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms)));
        c.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId("admin"));
        return c;
    }

    Map<String, Object> producer() {
        Map<String, Object> c = only(ProducerConfig.configNames());
        c.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        c.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, DEFAULT_MAX_BLOCK_MS);
        c.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, DEFAULT_REQUEST_TIMEOUT_MS);
        // Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms: a user's longer
        // request timeout (30 s is common) must stretch resq's default, not fail the producer.
        long floor = (long) intSetting(ProducerConfig.LINGER_MS_CONFIG, KAFKA_DEFAULT_LINGER_MS)
                + intSetting(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, DEFAULT_REQUEST_TIMEOUT_MS);
        c.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Math.min(Integer.MAX_VALUE, Math.max(DEFAULT_DELIVERY_TIMEOUT_MS, floor)));
        c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        c.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "resq-producer");
        return c;
    }

    /** {@code fetch.max.wait.ms} when the user's config has none; see {@link #consumer}. */
    static final int DEFAULT_FETCH_MAX_WAIT_MS = 50;

    Map<String, Object> consumer(String group, String topic) {
        Map<String, Object> c = only(ConsumerConfig.configNames());
        // A group that has never committed starts from the beginning, so messages sent while a
        // receiver was still joining its group are not skipped.
        c.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // Topics are made by the admin client when the transport is told to; a consumer must not
        // create a topic from a typo.
        c.putIfAbsent(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        // While busy partitions are paused for backpressure, the consumer's fetch to that broker
        // asks only for idle partitions (the retry topic, usually empty), and the broker holds such
        // a fetch for fetch.max.wait.ms; resumed partitions wait behind it. Kafka's 500 ms default
        // cut a processor's throughput to a third, measured: hence 50 ms unless the user chose.
        c.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, DEFAULT_FETCH_MAX_WAIT_MS);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Cooperative rebalancing moves only the partitions that change owner, so a rebalance
        // does not stop every consumer of the group. The consumer group protocol (KIP-848)
        // assigns on the broker and takes no assignor setting.
        Object protocol = user.get(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
        if (protocol == null || "classic".equalsIgnoreCase(protocol.toString())) {
            c.putIfAbsent(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        }
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Object base = user.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG, "resq");
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, base + "-" + topic + "-" + clientIds.incrementAndGet());
        Object instance = user.get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        if (instance != null && !instance.toString().isBlank()) {
            // Static membership: two consumers with one group.instance.id fence each other, and a
            // processor per topic (or concurrency across receivers) would make several. The nth
            // receiver of a topic and group gets the same suffix on every start of the application.
            int n = instances.computeIfAbsent(group + "\u0000" + topic, k -> new AtomicInteger()).incrementAndGet();
            c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance + "-" + topic + "-" + n);
        }
        return c;
    }

    /** The user's settings known to this client, plus settings no client knows (plugins' own keys). */
    private Map<String, Object> only(Set<String> names) {
        Map<String, Object> c = new HashMap<>();
        user.forEach((k, v) -> {
            if (names.contains(k) || !known(k)) {
                c.put(k, v);
            }
        });
        return c;
    }

    private static boolean known(String key) {
        return AdminClientConfig.configNames().contains(key)
                || ProducerConfig.configNames().contains(key)
                || ConsumerConfig.configNames().contains(key);
    }

    private String clientId(String role) {
        Object base = user.getOrDefault(CommonClientConfigs.CLIENT_ID_CONFIG, "resq");
        return base + "-" + role + "-" + clientIds.incrementAndGet();
    }

    /** host:port entries joined by commas; a {@code user:password@} part, if anyone wrote one, is masked. */
    static String displayable(Object servers) {
        String joined = servers instanceof Collection<?> list
                ? String.join(",", list.stream().map(String::valueOf).toList())
                : servers.toString();
        return joined.replaceAll("[^,/\\s]*@", "***@").replaceAll("\\s+", "");
    }
}
