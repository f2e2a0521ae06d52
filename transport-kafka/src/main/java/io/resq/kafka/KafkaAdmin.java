package io.resq.kafka;

import io.resq.ResqException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transport's admin client: cluster checks, the broker's message size limit and optional
 * topic creation. Thread-safe (Kafka's {@link Admin} is); every call is bounded by the API timeout.
 */
final class KafkaAdmin implements AutoCloseable {

    /** Kafka's default {@code message.max.bytes}, used when the broker config cannot be read. */
    static final int KAFKA_DEFAULT_MESSAGE_MAX_BYTES = 1_048_588;

    private static final Logger LOG = LoggerFactory.getLogger(KafkaAdmin.class);
    /** Pause between readiness checks of a new topic's partition leaders. */
    private static final long LEADER_POLL_MS = 20;

    private final Admin admin;
    private final String bootstrap;
    private final Duration timeout;
    private final Optional<Integer> partitions;
    private final Optional<Short> replicationFactor;
    private final Set<String> knownTopics = ConcurrentHashMap.newKeySet();
    /** Topics found missing by {@link #existing}, and when (nanoTime). */
    private final Map<String, Long> missing = new ConcurrentHashMap<>();
    private static final long MISSING_RECHECK_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** Partition counts of topics described or created by this admin. */
    private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();
    /** {@code retention.ms} of the retry topics delayed records went to. */
    private final Map<String, Long> retention = new ConcurrentHashMap<>();

    KafkaAdmin(Admin admin, String bootstrap, Duration timeout, Optional<Integer> partitions, Optional<Short> replicationFactor) {
        this.admin = admin;
        this.bootstrap = bootstrap;
        this.timeout = timeout;
        this.partitions = partitions;
        this.replicationFactor = replicationFactor;
    }

    /** A short description of the cluster, e.g. "cluster abc, 1 broker(s)"; throws naming the address and cause. */
    String describeCluster(Duration within) {
        try {
            var result = admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) within.toMillis()));
            String id = result.clusterId().get(within.toMillis(), TimeUnit.MILLISECONDS);
            int nodes = result.nodes().get(within.toMillis(), TimeUnit.MILLISECONDS).size();
            return "cluster " + id + ", " + nodes + " broker(s)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ResqException("interrupted while contacting Kafka at " + bootstrap, e);
        } catch (ExecutionException | TimeoutException e) {
            throw unreachable("did not answer within " + within.toMillis() + " ms", e, within);
        }
    }

    /**
     * The {@code retention.ms} of {@code topic}, read once and remembered; -1 for unlimited, or
     * when the config cannot be read (no DescribeConfigs permission: the log says so once).
     */
    long retentionMs(String topic) {
        return retention.computeIfAbsent(topic, t -> {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, t);
            try {
                Config config = admin.describeConfigs(List.of(resource)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(resource);
                ConfigEntry entry = config == null ? null : config.get("retention.ms");
                return entry == null || entry.value() == null ? -1L : Long.parseLong(entry.value());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1L;
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                LOG.warn("Cannot read retention.ms of Kafka topic {} at {} ({}); delays longer than it are not refused",
                        t, bootstrap, e.toString());
                return -1L;
            }
        });
    }

    /**
     * The broker's {@code message.max.bytes}. Falls back to Kafka's default when the config cannot
     * be read (for example without DescribeConfigs permission), which the log says.
     */
    int brokerMessageMaxBytes() {
        try {
            Collection<Node> nodes = admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (nodes.isEmpty()) {
                return KAFKA_DEFAULT_MESSAGE_MAX_BYTES;
            }
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(nodes.iterator().next().id()));
            Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(broker)).all()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            ConfigEntry entry = configs.get(broker).get("message.max.bytes");
            return entry == null || entry.value() == null ? KAFKA_DEFAULT_MESSAGE_MAX_BYTES : Integer.parseInt(entry.value());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return KAFKA_DEFAULT_MESSAGE_MAX_BYTES;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("Cannot read message.max.bytes from Kafka at {} ({}); assuming Kafka's default {}", bootstrap, e.toString(),
                    KAFKA_DEFAULT_MESSAGE_MAX_BYTES);
            return KAFKA_DEFAULT_MESSAGE_MAX_BYTES;
        }
    }

    /** Creates the topics that do not exist yet (with the configured partitions and replication). */
    void ensureTopics(Collection<String> topics) {
        ensureTopics(topics, null);
    }

    /**
     * Creates the topics that do not exist yet. Existing topics are described first and never
     * created, so a principal allowed to describe and use a topic but not to create one can use
     * the topics an operator made. A created topic gets the configured partition count, else
     * that of {@code mirrorOf} (the main topic of a retry topic: a retry topic with fewer
     * partitions would let one long delay hold back more keys), else the broker's default.
     */
    void ensureTopics(Collection<String> topics, String mirrorOf) {
        List<String> unknown = new ArrayList<>();
        for (String t : topics) {
            if (!knownTopics.contains(t)) {
                unknown.add(t);
            }
        }
        if (unknown.isEmpty()) {
            return;
        }
        List<String> absent = absent(unknown);
        if (absent.isEmpty()) {
            return;
        }
        Optional<Integer> count = partitions.isPresent() || mirrorOf == null ? partitions : partitionsOf(mirrorOf);
        List<NewTopic> missing = new ArrayList<>();
        for (String t : absent) {
            missing.add(new NewTopic(t, count, replicationFactor));
        }
        var results = admin.createTopics(missing).values();
        List<String> created = new ArrayList<>();
        for (NewTopic t : missing) {
            try {
                results.get(t.name()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                created.add(t.name());
                LOG.debug("Created Kafka topic {} at {}", t.name(), bootstrap);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ResqException("interrupted while creating Kafka topic '" + t.name() + "' at " + bootstrap, e);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw unreachable("could not create topic '" + t.name() + "'", e, timeout);
                }
            } catch (TimeoutException e) {
                throw unreachable("could not create topic '" + t.name() + "' within " + timeout.toMillis() + " ms", e, timeout);
            }
            knownTopics.add(t.name());
        }
        if (!created.isEmpty()) {
            awaitLeaders(created);
        }
    }

    /**
     * Of {@code topics}, those the cluster has (or that this admin made). A topic found missing is
     * not asked about again for a minute, so a sender that falls back for a missing topic does not
     * describe it on every send.
     */
    List<String> existing(Collection<String> topics) {
        List<String> out = new ArrayList<>();
        List<String> ask = new ArrayList<>();
        long now = System.nanoTime();
        for (String t : topics) {
            if (knownTopics.contains(t)) {
                out.add(t);
            } else {
                Long missingSince = missing.get(t);
                if (missingSince == null || now - missingSince > MISSING_RECHECK_NANOS) {
                    ask.add(t);
                }
            }
        }
        if (!ask.isEmpty()) {
            List<String> absent = absent(ask);
            for (String t : ask) {
                if (absent.contains(t)) {
                    missing.put(t, now);
                } else {
                    missing.remove(t);
                    out.add(t);
                }
            }
        }
        return out;
    }

    /** Of {@code topics}, those the cluster does not have (or will not describe); the others become known. */
    private List<String> absent(List<String> topics) {
        List<String> absent = new ArrayList<>();
        Map<String, org.apache.kafka.common.KafkaFuture<TopicDescription>> described = admin.describeTopics(topics).topicNameValues();
        for (String t : topics) {
            try {
                TopicDescription d = described.get(t).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                knownTopics.add(t);
                partitionCounts.put(t, d.partitions().size());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ResqException("interrupted while describing Kafka topic '" + t + "' at " + bootstrap, e);
            } catch (ExecutionException | TimeoutException e) {
                // Unknown topic, or no permission to describe it: creating it says which.
                absent.add(t);
            }
        }
        return absent;
    }

    /** The partition count of {@code topic} as described, or empty when it is not known. */
    private Optional<Integer> partitionsOf(String topic) {
        Integer n = partitionCounts.get(topic);
        if (n == null && !knownTopics.contains(topic)) {
            absent(List.of(topic));
            n = partitionCounts.get(topic);
        }
        return Optional.ofNullable(n);
    }

    /**
     * Waits until the leader of every partition of {@code topics} serves it. Kafka acknowledges a
     * topic's creation before the leaders have taken their partitions, and an idempotent producer
     * whose first request to a partition arrives in that window while a later one does not loses
     * the first request's records to {@code OutOfOrderSequenceException} once
     * {@code delivery.timeout.ms} expires (KAFKA-15591; measured here: 64 to 1,369 of 5,000 sends
     * to a just-created topic failed in 11 of 16 rounds). A partition's leader answers ListOffsets
     * only once it leads the partition; until then it answers with a retriable error.
     */
    private void awaitLeaders(List<String> topics) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        Map<TopicPartition, OffsetSpec> partitions = null;
        try {
            while (System.nanoTime() < deadline) {
                try {
                    long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                    if (partitions == null) {
                        partitions = latestOffsetsOf(admin.describeTopics(topics).allTopicNames().get(left, TimeUnit.MILLISECONDS).values());
                    }
                    admin.listOffsets(partitions).all().get(left, TimeUnit.MILLISECONDS);
                    return;
                } catch (ExecutionException e) {
                    last = e.getCause() instanceof Exception cause ? cause : e;
                    if (!(e.getCause() instanceof RetriableException)) {
                        break;
                    }
                    Thread.sleep(LEADER_POLL_MS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ResqException("interrupted while waiting for the leaders of new Kafka topics " + topics + " at " + bootstrap, e);
        } catch (TimeoutException | RuntimeException e) {
            last = e;
        }
        // The topics exist and the producer retries on its own, so this is a warning, not a failure.
        LOG.warn("Kafka at {} created topics {} but not every partition had a serving leader within {} ms ({}); the first sends"
                + " to them may fail", bootstrap, topics, timeout.toMillis(), String.valueOf(last));
    }

    private static Map<TopicPartition, OffsetSpec> latestOffsetsOf(Collection<TopicDescription> topics) {
        Map<TopicPartition, OffsetSpec> out = new HashMap<>();
        for (TopicDescription d : topics) {
            for (TopicPartitionInfo p : d.partitions()) {
                out.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
            }
        }
        return out;
    }

    private ResqException unreachable(String what, Exception e, Duration within) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        String probe = BrokerProbe.describe(bootstrap, (int) Math.min(2000, Math.max(200, within.toMillis())));
        return new ResqException("Kafka at " + bootstrap + " " + what + ": " + cause + " [" + probe + "]", cause);
    }

    @Override
    public void close() {
        admin.close(timeout);
    }
}
