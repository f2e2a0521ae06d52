package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.resq.Dequeue;
import io.resq.EnvelopeMode;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.SendException;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.testkit.Brokers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XReadGroupParams;

/** Redis-specific behaviour and bad input, against the Redis of the tests. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisTransportTest {

    private UnifiedJedis raw;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void connect() {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        raw = RedisClient.create(Brokers.redisUri());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        raw.close();
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(0, c);
        return c;
    }

    private static String queue(String base) {
        return "redis_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static List<Delivery> receive(Receiver r, int n) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(200)));
        }
        return got;
    }

    @Test
    void unreachableBrokerFailsFastNamingTheAddressAndCause() throws Exception {
        int port = PrivateRedis.freePort();
        long start = System.nanoTime();
        assertThatThrownBy(() -> RedisTransport.builder("redis://127.0.0.1:" + port).timeout(Duration.ofSeconds(2)).build())
                .isInstanceOf(RedisTransportException.class)
                .hasMessageContaining("127.0.0.1:" + port)
                .hasMessageContaining("Connection refused");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void credentialsNeverAppearInErrorsOrHealth() throws Exception {
        int port = PrivateRedis.freePort();
        assertThatThrownBy(() -> RedisTransport.create("redis://app:s3cret-pw@127.0.0.1:" + port))
                .isInstanceOf(RedisTransportException.class)
                .hasMessageContaining("127.0.0.1:" + port)
                .satisfies(e -> assertThat(e.toString()).doesNotContain("s3cret-pw"));
        assertThatThrownBy(() -> RedisTransport.create("http://127.0.0.1:6379"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("redis://");
    }

    @Test
    void sendToABrokerThatWentAwayFailsWithAddressAndCause() throws Exception {
        try (PrivateRedis redis = PrivateRedis.start()) {
            RedisTransport t = closeLater(RedisTransport.builder(redis.uri()).timeout(Duration.ofSeconds(1)).build());
            t.sender("q").send(Outbound.of("a", new byte[] {1})).get(10, TimeUnit.SECONDS);
            redis.kill();

            long start = System.nanoTime();
            assertThatThrownBy(() -> t.sender("q").send(Outbound.of("b", new byte[] {2})).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(RedisTransportException.class)
                    .hasMessageContaining("127.0.0.1:" + redis.port())
                    .hasMessageContaining("stream q");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            assertThat(t.health().isUp()).isFalse();
            assertThat(t.health().detail()).contains("127.0.0.1:" + redis.port());

            redis.restart();
            t.sender("q").send(Outbound.of("c", new byte[] {3})).get(10, TimeUnit.SECONDS);
            assertThat(t.health().isUp()).isTrue();
        }
    }

    @Test
    void defaultBodyLimitIsTheServersProtoMaxBulkLen() {
        RedisTransport t = closeLater(RedisTransport.create(Brokers.redisUri()));
        long serverLimit = Long.parseLong(raw.configGet("proto-max-bulk-len").get("proto-max-bulk-len"));
        assertThat((long) t.maxBodySize()).isEqualTo(Math.min(Integer.MAX_VALUE, serverLimit));
    }

    @Test
    void oversizedBodyIsRefusedWithASendExceptionNamingTheLimit() {
        RedisTransport t = closeLater(RedisTransport.builder(Brokers.redisUri()).maxBodySize(1000).build());
        Queues queues = closeLater(Queues.using(t));
        String q = queue("big");
        String big = "x".repeat(5000);

        assertThatThrownBy(() -> queues.enqueue(q, String.class).send(big))
                .isInstanceOf(SendException.class)
                .hasMessageContaining("1000");
        assertThat(raw.exists(q)).as("nothing reached the stream").isFalse();
    }

    @Test
    void theBuilderIsRedisTransportBuilderAsOnTheOtherTransports() {
        RedisTransport.Builder builder = RedisTransport.builder(Brokers.redisUri()).visibilityTimeout(Duration.ofSeconds(5));
        try (RedisTransport t = builder.build()) {
            assertThat(t.health().isUp()).isTrue();
        }
    }

    @Test
    void closedTransportRefusesWorkAndReportsDown() {
        RedisTransport t = RedisTransport.create(Brokers.redisUri());
        t.close();
        t.close();
        assertThat(t.health().isUp()).isFalse();
        assertThat(t.health().detail()).contains("closed");
        assertThatThrownBy(() -> t.receiver("q", ReceiverOptions.group("g")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void foreignEntriesAreDeliveredWithTheStreamIdAndTheirFields() throws Exception {
        RedisTransport t = closeLater(RedisTransport.create(Brokers.redisUri()));
        String q = queue("foreign");
        Receiver r = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        Map<String, String> withBody = new LinkedHashMap<>();
        withBody.put("body", "hello");
        withBody.put("type", "greeting");
        StreamEntryID first = raw.xadd(q, StreamEntryID.NEW_ENTRY, withBody);
        StreamEntryID second = raw.xadd(q, StreamEntryID.NEW_ENTRY, Map.of("data", "42"));

        List<Delivery> got = receive(r, 2);
        got.forEach(Delivery::ack);

        assertThat(got).extracting(Delivery::id).containsExactly(first.toString(), second.toString());
        assertThat(new String(got.get(0).body(), StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(got.get(0).headers()).containsEntry("type", "greeting").doesNotContainKey("body");
        assertThat(got.get(0).key()).isNull();
        assertThat(got.get(1).body()).isEmpty();
        assertThat(got.get(1).headers()).containsEntry("data", "42");
    }

    @Test
    void foreignEntryIsProcessedInRawModeAndDeadLetteredWith400InEnvelopeMode() throws Exception {
        String q = queue("foreign_modes");
        raw.xadd(q, StreamEntryID.NEW_ENTRY, Map.of("body", "plain text from another service"));

        Queues rawQueues = closeLater(Queues.builder(closeLater(RedisTransport.create(Brokers.redisUri())))
                .envelopeMode(EnvelopeMode.RAW).build());
        try (Dequeue<String> in = rawQueues.dequeue(q, String.class, "raw-readers")) {
            Msg<String> m = in.messages().poll(20, TimeUnit.SECONDS);
            assertThat(m).isNotNull();
            assertThat(m.payload()).isEqualTo("plain text from another service");
            assertThat(m.attempt()).isEqualTo(1);
            in.ack(m);
        }

        Queues envelopeQueues = closeLater(Queues.using(closeLater(RedisTransport.create(Brokers.redisUri()))));
        envelopeQueues.processor(q, String.class).group("envelope-readers").handler(s -> {
            throw new AssertionError("an undecodable body must not reach the handler");
        }).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!raw.exists(q + "_deadletter") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        try (Dequeue<byte[]> dead = envelopeQueues.dequeue(q + "_deadletter", byte[].class, "dlq-reader")) {
            Msg<byte[]> d = dead.messages().poll(20, TimeUnit.SECONDS);
            assertThat(d).isNotNull();
            assertThat(d.errors()).extracting(f -> f.statusCode()).containsExactly(400);
            assertThat(new String(d.payload(), StandardCharsets.UTF_8)).isEqualTo("plain text from another service");
            dead.ack(d);
        }
    }

    @Test
    void crashedConsumersEntriesAreReclaimedWithTheirDeliveryCount() throws Exception {
        RedisTransport t = closeLater(RedisTransport.builder(Brokers.redisUri()).visibilityTimeout(Duration.ofSeconds(1)).build());
        String q = queue("crash");
        Receiver r = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        t.sender(q).send(Outbound.of("m1", new byte[] {1})).get(10, TimeUnit.SECONDS);
        // A consumer of another process reads the entry and dies without acking.
        raw.xreadGroup("g", "crashed-consumer", XReadGroupParams.xReadGroupParams().count(10),
                Map.of(q, StreamEntryID.XREADGROUP_UNDELIVERED_ENTRY));

        List<Delivery> got = receive(r, 1);

        assertThat(got).hasSize(1);
        assertThat(got.get(0).id()).isEqualTo("m1");
        assertThat(got.get(0).deliveryCount()).isEqualTo(2);
        got.get(0).ack();
        // Acks are flushed in batches by the transport's background thread: soon, not at once.
        await().atMost(Duration.ofSeconds(5)).until(() -> raw.xpending(q, "g").getTotal() == 0);
    }

    @Test
    void keepAliveStopsALiveConsumersDeliveryFromBeingReclaimed() throws Exception {
        RedisTransport t = closeLater(RedisTransport.builder(Brokers.redisUri()).visibilityTimeout(Duration.ofSeconds(1)).build());
        String q = queue("keepalive");
        Receiver slow = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        Receiver other = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        t.sender(q).send(Outbound.of("held", new byte[] {1})).get(10, TimeUnit.SECONDS);
        Delivery held = receive(slow, 1).get(0);

        // Three visibility timeouts pass while the delivery is held: the other consumer must not get it.
        List<Delivery> stolen = new ArrayList<>();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < until) {
            stolen.addAll(other.poll(10, Duration.ofMillis(200)));
        }
        assertThat(stolen).isEmpty();
        held.ack();
        // Acks are flushed in batches by the transport's background thread: soon, not at once.
        await().atMost(Duration.ofSeconds(5)).until(() -> raw.xpending(q, "g").getTotal() == 0);
    }

    @Test
    void delayedMessageWaitsInTheSortedSetNotInTheStream() throws Exception {
        RedisTransport t = closeLater(RedisTransport.create(Brokers.redisUri()));
        String q = queue("delayed");
        Receiver r = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        t.sender(q).send(new Outbound("later", "k", Map.of("h", "v"), new byte[] {0, (byte) 0xff, ':', '9'}, Duration.ofSeconds(1)))
                .get(10, TimeUnit.SECONDS);

        assertThat(raw.zcard(Keys.delayed(q))).isEqualTo(1);
        assertThat(raw.xlen(q)).isZero();

        Delivery d = receive(r, 1).get(0);
        assertThat(d.id()).isEqualTo("later");
        assertThat(d.key()).isEqualTo("k");
        assertThat(d.headers()).containsEntry("h", "v");
        assertThat(d.body()).isEqualTo(new byte[] {0, (byte) 0xff, ':', '9'});
        d.ack();
        assertThat(raw.zcard(Keys.delayed(q))).isZero();
    }

    @Test
    void deleteOnAckAndMaxLengthKeepStreamsSmall() throws Exception {
        RedisTransport t = closeLater(RedisTransport.builder(Brokers.redisUri()).deleteOnAck(true).build());
        String q = queue("delete");
        Receiver r = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        for (int i = 0; i < 10; i++) {
            t.sender(q).send(Outbound.of("m" + i, new byte[] {1})).get(10, TimeUnit.SECONDS);
        }
        receive(r, 10).forEach(Delivery::ack);
        await().atMost(Duration.ofSeconds(5)).until(() -> raw.xlen(q) == 0);

        RedisTransport trimming = closeLater(RedisTransport.builder(Brokers.redisUri()).maxLength(100).build());
        String q2 = queue("trim");
        for (int i = 0; i < 20; i++) {
            List<Outbound> batch = new ArrayList<>();
            for (int j = 0; j < 100; j++) {
                batch.add(Outbound.of("m" + i + "-" + j, new byte[] {1}));
            }
            trimming.sender(q2).send(batch).get(10, TimeUnit.SECONDS);
        }
        assertThat(raw.xlen(q2)).isLessThan(500).isGreaterThanOrEqualTo(100);
    }

    @Test
    void streamDeletedUnderAReceiverIsRecreated() throws Exception {
        RedisTransport t = closeLater(RedisTransport.create(Brokers.redisUri()));
        String q = queue("deleted");
        Receiver r = closeLater(t.receiver(q, ReceiverOptions.group("g")));
        assertThat(r.poll(1, Duration.ofMillis(100))).isEmpty();
        raw.del(q);
        t.sender(q).send(Outbound.of("after-delete", new byte[] {1})).get(10, TimeUnit.SECONDS);

        List<Delivery> got = receive(r, 1);
        assertThat(got).extracting(Delivery::id).containsExactly("after-delete");
        got.get(0).ack();
    }

    @Test
    void builderValidatesArguments() {
        assertThatThrownBy(() -> RedisTransport.builder(Brokers.redisUri()).visibilityTimeout(Duration.ofMillis(10)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("visibilityTimeout must be >= 300ms");
        assertThatThrownBy(() -> RedisTransport.builder(Brokers.redisUri()).maxLength(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxLength must be >= 0, was -1");
        assertThatThrownBy(() -> RedisTransport.builder(Brokers.redisUri()).maxBodySize(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBodySize must be >= 1, was 0");
        assertThatThrownBy(() -> RedisTransport.builder(Brokers.redisUri()).maxBlockingReads(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBlockingReads must be >= 1, was 0");
        assertThatThrownBy(() -> RedisTransport.builder(Brokers.redisUri()).maxConnections(4).maxBlockingReads(4).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBlockingReads (4) must be smaller than the Redis client's pool size (4)");
    }

    @Test
    void blockingReadsStayBelowThePoolOfAUserClient() {
        ConnectionPoolConfig pool = new ConnectionPoolConfig();
        pool.setMaxTotal(3);
        try (RedisClient client = RedisClient.builder().fromURI(Brokers.redisUri()).poolConfig(pool).build()) {
            try (RedisTransport t = RedisTransport.builder(client).build()) {
                assertThat(t.blockingReads().limit()).isEqualTo(2);
            }
            try (RedisTransport t = RedisTransport.builder(client).maxBlockingReads(1).build()) {
                assertThat(t.blockingReads().limit()).isEqualTo(1);
            }
            assertThatThrownBy(() -> RedisTransport.builder(client).maxBlockingReads(3).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("maxBlockingReads (3) must be smaller than the Redis client's pool size (3)");
        }
    }

    @Test
    void keysOfAQueueShareAHashSlot() {
        assertThat(Keys.delayed("orders")).isEqualTo("{orders}:resq-delayed");
        assertThat(Keys.delayed("{tenant}.orders")).isEqualTo("{tenant}.orders:resq-delayed");
    }
}
