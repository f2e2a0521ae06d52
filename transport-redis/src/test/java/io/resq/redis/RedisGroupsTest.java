package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.testkit.Brokers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.RedisClient;

/** Consumer groups on Redis Streams: a group is required, and redeliveries belong to the group that failed. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisGroupsTest {

    private static String queue(String base) {
        return "groups_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return c.getAsBoolean();
    }

    @Test
    void withoutAGroupAProcessorFailsAtStartSayingWhatToCall() {
        try (Queues queues = Queues.using(RedisTransport.create(Brokers.redisUri()))) {
            String q = queue("nogroup");
            assertThatThrownBy(() -> queues.processor(q, String.class).handler(s -> { }).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no consumer group")
                    .hasMessageContaining("group(");
            assertThatThrownBy(() -> queues.dequeue(q, String.class)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void aGroupCreatedLaterSkipsAnotherGroupsRedeliveriesAndLeavesThemInTheStream() throws Exception {
        String q = queue("latecomer");
        int n = 10;
        try (Queues queues = Queues.using(RedisTransport.create(Brokers.redisUri()))) {
            Map<String, AtomicInteger> failedByA = new ConcurrentHashMap<>();
            queues.processor(q, String.class).group("a").retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(3)).concurrency(2)
                    .msgHandler(m -> {
                        if (failedByA.computeIfAbsent(m.id(), k -> new AtomicInteger()).getAndIncrement() == 0) {
                            throw new IllegalStateException("a fails once");
                        }
                    }).start();
            Enqueue<String> out = queues.enqueue(q, String.class);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ids.add(out.send(Msg.builder("m" + i).key("k" + i).build()).id());
            }
            assertThat(await(() -> failedByA.size() == n && failedByA.values().stream().allMatch(c -> c.get() == 2)))
                    .as("a handled its redeliveries").isTrue();

            Map<String, AtomicInteger> handledByC = new ConcurrentHashMap<>();
            queues.processor(q, String.class).group("c")
                    .msgHandler(m -> handledByC.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet()).start();
            assertThat(await(() -> handledByC.size() == n)).isTrue();
            Thread.sleep(1500);
            assertThat(handledByC.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(handledByC.values()).as("c sees each original once and none of a's copies")
                    .allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
            try (RedisClient redis = RedisClient.create(Brokers.redisUri())) {
                assertThat(redis.xlen(q)).as("the originals and a's copies are all still in the stream").isEqualTo(2L * n);
                assertThat(redis.xpending(q, "c").getTotal()).as("c acked what it skipped").isZero();
            }
        }
    }
}
