package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.testkit.Brokers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.RedisClient;

/** Streams do not grow without bound, and trimming never takes what a group has not read and acked. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisTrimTest {

    private static String queue(String base) {
        return "trim_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static List<Delivery> receive(Receiver r, int n) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(100)));
        }
        return got;
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return c.getAsBoolean();
    }

    private static void send(RedisTransport t, String q, int n) throws Exception {
        List<Outbound> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batch.add(Outbound.of("m" + i, ("body" + i).getBytes(StandardCharsets.UTF_8)));
        }
        t.sender(q).send(batch).get(10, TimeUnit.SECONDS);
    }

    @Test
    void onlyWhatEveryGroupWasDeliveredAndAckedIsTrimmed() throws Exception {
        String q = queue("acked");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).trimInterval(Duration.ofMillis(200)).build();
             RedisClient redis = RedisClient.create(Brokers.redisUri())) {
            Receiver a = t.receiver(q, ReceiverOptions.group("a"));
            Receiver b = t.receiver(q, ReceiverOptions.group("b"));
            send(t, q, 10);

            receive(a, 10).forEach(Delivery::ack);
            List<Delivery> firstOfB = receive(b, 5);
            assertThat(firstOfB).hasSize(5);
            firstOfB.subList(0, 3).forEach(Delivery::ack);
            // b acked 3 and holds 2; 5 it has not read. Only the 3 may go.
            assertThat(await(() -> redis.xlen(q) == 7)).as("length %s", redis.xlen(q)).isTrue();
            Thread.sleep(600);
            assertThat(redis.xlen(q)).as("nothing b holds or has not read is trimmed").isEqualTo(7);

            firstOfB.subList(3, 5).forEach(Delivery::ack);
            receive(b, 5).forEach(Delivery::ack);
            assertThat(await(() -> redis.xlen(q) == 0)).as("everything acked by both groups goes").isTrue();
        }
    }

    @Test
    void aNewGroupCanStartAtTheEndOfTheStream() throws Exception {
        String q = queue("latest");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).newGroupsFromStart(false).build()) {
            send(t, q, 3);
            Receiver late = t.receiver(q, ReceiverOptions.group("late"));
            assertThat(late.poll(10, Duration.ofMillis(500))).as("what came before the group").isEmpty();
            t.sender(q).send(Outbound.of("after", new byte[] {1})).get(10, TimeUnit.SECONDS);
            assertThat(receive(late, 1)).extracting(Delivery::id).containsExactly("after");
        }
    }

    @Test
    void consumersOfCrashedProcessesOwningNothingAreRemovedAfterTheIdleTime() throws Exception {
        String q = queue("idle");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).visibilityTimeout(Duration.ofMillis(300))
                .idleConsumerTimeout(Duration.ofMillis(500)).trimInterval(Duration.ofMillis(200)).build();
             RedisClient redis = RedisClient.create(Brokers.redisUri())) {
            Receiver live = t.receiver(q, ReceiverOptions.group("g"));
            // A consumer left behind by a crashed process: it owns nothing.
            redis.xgroupCreateConsumer(q, "g", "crashed-1");
            assertThat(redis.xinfoConsumers2(q, "g")).extracting(c -> c.getName()).contains("crashed-1");

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                live.poll(1, Duration.ofMillis(100)); // the live consumer keeps interacting
                if (redis.xinfoConsumers2(q, "g").stream().noneMatch(c -> c.getName().equals("crashed-1"))) {
                    break;
                }
            }
            assertThat(redis.xinfoConsumers2(q, "g")).extracting(c -> c.getName()).doesNotContain("crashed-1");
        }
    }
}
