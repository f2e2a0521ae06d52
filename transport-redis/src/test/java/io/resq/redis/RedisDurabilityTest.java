package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.SendException;
import io.resq.Undelivered;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;

/**
 * The opt-in durability wait: sends and copies wait for replicas ({@code WAIT}) on a private
 * primary with a private replica, and fail with a {@link RedisDurabilityException} when fewer
 * acknowledge in time, without losing the message.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisDurabilityTest {

    private PrivateRedis primary;
    private PrivateRedis replica;

    @BeforeEach
    void start() throws Exception {
        primary = PrivateRedis.start();
        replica = PrivateRedis.startReplicaOf(primary);
    }

    @AfterEach
    void stop() throws Exception {
        if (replica != null) {
            replica.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    private static String queue(String base) {
        return "wait_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void aSendReturnsOnceTheReplicaHasIt() throws Exception {
        String q = queue("ok");
        try (RedisTransport t = RedisTransport.builder(primary.uri()).waitForReplicas(1, Duration.ofSeconds(5)).build();
             Jedis onReplica = new Jedis("127.0.0.1", replica.port(), 2000)) {
            for (int i = 0; i < 20; i++) {
                t.sender(q).send(Outbound.of("m" + i, new byte[] {1})).get(10, TimeUnit.SECONDS);
                // No waiting here: WAIT returned only after the replica acknowledged the write.
                assertThat(onReplica.xlen(q)).as("entries on the replica after send %d", i).isEqualTo(i + 1);
            }
            t.sender(q).send(java.util.List.of(Outbound.of("a", new byte[] {1}), Outbound.of("b", new byte[] {2}),
                    new Outbound("later", null, java.util.Map.of(), new byte[] {3}, Duration.ofMinutes(5)))).get(10, TimeUnit.SECONDS);
            assertThat(onReplica.xlen(q)).isEqualTo(22);
            assertThat(onReplica.zcard(Keys.delayed(q))).as("a delayed send is replicated too").isEqualTo(1);
        }
    }

    @Test
    void aSendFailsWithinTheTimeoutWhenTheReplicaIsGoneAndTheMessageIsNotLost() throws Exception {
        String q = queue("gone");
        try (RedisTransport t = RedisTransport.builder(primary.uri()).waitForReplicas(1, Duration.ofMillis(500)).build();
             RedisTransport patient = RedisTransport.builder(primary.uri()).waitForReplicas(1, Duration.ofSeconds(10)).build();
             Jedis onPrimary = new Jedis("127.0.0.1", primary.port(), 2000)) {
            // While the replica is there: with a generous timeout, as a busy machine can take over 500 ms to acknowledge.
            patient.sender(q).send(Outbound.of("before", new byte[] {1})).get(20, TimeUnit.SECONDS);
            replica.kill();

            long start = System.nanoTime();
            assertThatThrownBy(() -> t.sender(q).send(Outbound.of("after", new byte[] {2})).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(RedisDurabilityException.class)
                    .hasMessageContaining("127.0.0.1:" + primary.port())
                    .hasMessageContaining("stream " + q)
                    .hasMessageContaining("only 0 of 1 replicas (WAIT) acknowledged the write within 500 ms");
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(ms).as("ms until the send failed").isBetween(400L, 5000L);
            // Written on the primary, and reported as failed: not lost.
            assertThat(onPrimary.xlen(q)).isEqualTo(2);
        }
    }

    @Test
    void sendsOutstandingTogetherEachWaitForTheReplicaOrEachFailWithoutIt() throws Exception {
        String q = queue("many");
        int n = 300;
        try (RedisTransport t = RedisTransport.builder(primary.uri()).waitForReplicas(1, Duration.ofMillis(500)).build();
             RedisTransport patient = RedisTransport.builder(primary.uri()).waitForReplicas(1, Duration.ofSeconds(10)).build();
             Jedis onReplica = new Jedis("127.0.0.1", replica.port(), 2000);
             Jedis onPrimary = new Jedis("127.0.0.1", primary.port(), 2000)) {
            // A replica just started may still be syncing: one send with a generous WAIT first, so 500 ms is the replica's usual pace.
            patient.sender(q).send(Outbound.of("first", new byte[] {1})).get(20, TimeUnit.SECONDS);
            java.util.List<java.util.concurrent.CompletableFuture<Void>> sent = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                sent.add(t.sender(q).send(Outbound.of("m" + i, new byte[] {1})));
            }
            for (java.util.concurrent.CompletableFuture<Void> f : sent) {
                f.get(20, TimeUnit.SECONDS);
            }
            // Each confirmed send was acknowledged by the replica: the last confirmation means all are there.
            assertThat(onReplica.xlen(q)).isEqualTo(n + 1);

            replica.kill();
            sent.clear();
            for (int i = 0; i < n; i++) {
                sent.add(t.sender(q).send(Outbound.of("gone" + i, new byte[] {2})));
            }
            for (java.util.concurrent.CompletableFuture<Void> f : sent) {
                assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(RedisDurabilityException.class)
                        .hasMessageContaining("stream " + q)
                        .hasMessageContaining("only 0 of 1 replicas (WAIT) acknowledged the write within 500 ms");
            }
            // Written on the primary and reported as failed: not lost.
            assertThat(onPrimary.xlen(q)).isEqualTo(2L * n + 1);
        }
    }

    @Test
    void askingForMoreReplicasThanThereAreFailsTheSendAndReportsItInDeadLetters() throws Exception {
        String q = queue("two");
        try (RedisTransport t = RedisTransport.builder(primary.uri()).waitForReplicas(2, Duration.ofMillis(200)).build();
             Queues queues = Queues.builder(t).sendRetry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2)).build();
             Jedis onPrimary = new Jedis("127.0.0.1", primary.port(), 2000)) {
            Enqueue<String> out = queues.enqueue(q, String.class);
            assertThatThrownBy(() -> out.send("sync"))
                    .isInstanceOf(SendException.class)
                    .hasMessageContaining("RedisDurabilityException")
                    // The one replica usually acknowledges within 200 ms, but a busy machine can make it late.
                    .hasMessageMatching("(?s).*only [01] of 2 replicas \\(WAIT\\).*");

            out.messages().put("async");
            Undelivered<String> dead = out.deadLetters().poll(20, TimeUnit.SECONDS);
            assertThat(dead).as("the channel's send reported as undelivered").isNotNull();
            assertThat(dead.message().payload()).isEqualTo("async");
            assertThat(dead.failures()).isNotEmpty();
            assertThat(dead.failures().get(dead.failures().size() - 1).message()).containsPattern("only [01] of 2 replicas");
            // Every attempt wrote to the primary (same message ids); none is lost.
            assertThat(onPrimary.xlen(q)).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void aDeadLetterCopyThatIsNotReplicatedLeavesTheOriginalUnacked() throws Exception {
        String q = queue("copy");
        try (RedisTransport plain = RedisTransport.create(primary.uri());
             RedisTransport waiting = RedisTransport.builder(primary.uri()).waitForReplicas(2, Duration.ofMillis(200)).build();
             Queues queues = Queues.using(waiting);
             Jedis onPrimary = new Jedis("127.0.0.1", primary.port(), 2000)) {
            Queues.using(plain).enqueue(q, String.class).send("poison");
            try (Processor<String> p = queues.processor(q, String.class).group("g").redelivery(RetryPolicy.none())
                    .handler(s -> {
                        throw new IllegalStateException("always fails");
                    }).start()) {
                await().atMost(Duration.ofSeconds(20)).until(() -> p.health().refusedCopies() >= 1);
                assertThat(p.health().deadLettered()).isZero();
                // The copy is on the primary but was not confirmed: the original stays pending, unacked.
                assertThat(onPrimary.xpending(q, "g").getTotal()).isEqualTo(1);
            }
        }
    }

    @Test
    void waitForAofIsRefusedOnRedisBefore72() throws Exception {
        String version;
        try (Jedis j = new Jedis("127.0.0.1", primary.port(), 2000)) {
            version = j.info("server").lines().filter(l -> l.startsWith("redis_version:")).findFirst().orElseThrow()
                    .substring("redis_version:".length()).trim();
        }
        String[] parts = version.split("\\.");
        boolean older = Integer.parseInt(parts[0]) < 7 || (Integer.parseInt(parts[0]) == 7 && Integer.parseInt(parts[1]) < 2);
        if (older) {
            assertThatThrownBy(() -> RedisTransport.builder(primary.uri()).waitForAof(true, 1, Duration.ofSeconds(1)).build())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("waitForAof needs Redis 7.2 or later (WAITAOF)")
                    .hasMessageContaining("version " + version);
        } else {
            // The private primary has appendonly yes: a local fsync and the replica's acknowledgement are waited for.
            try (RedisTransport t = RedisTransport.builder(primary.uri()).waitForAof(true, 0, Duration.ofSeconds(5)).build()) {
                t.sender("aof_" + UUID.randomUUID()).send(Outbound.of("m", new byte[] {1})).get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void builderValidatesTheWait() {
        assertThatThrownBy(() -> RedisTransport.builder(primary.uri()).waitForReplicas(0, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("replicas must be >= 1, was 0");
        assertThatThrownBy(() -> RedisTransport.builder(primary.uri()).waitForReplicas(1, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout must be >= 1ms, was PT0S");
        assertThatThrownBy(() -> RedisTransport.builder(primary.uri()).waitForAof(false, 0, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("local fsync or at least one replica");
    }
}
