package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Queues;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.RedisClient;

/** Consumer groups on Redis Streams: a group is required, and a copy for one group is skipped by the others. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisGroupsTest {

    private static String queue(String base) {
        return "groups_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
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
    void aCopyForAnotherGroupIsAckedWithoutBeingHandedOutAndStaysInTheStream() throws Exception {
        String q = queue("skip");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).deleteOnAck(true).build();
             RedisClient redis = RedisClient.create(Brokers.redisUri())) {
            Receiver c = t.receiver(q, ReceiverOptions.group("c"));
            Receiver a = t.receiver(q, ReceiverOptions.group("a"));
            t.sender(q).send(List.of(
                    Outbound.of("for-a", "x".getBytes(StandardCharsets.UTF_8)).withGroup("a"),
                    Outbound.of("for-all", "y".getBytes(StandardCharsets.UTF_8)),
                    Outbound.of("for-a-later", "z".getBytes(StandardCharsets.UTF_8)).withGroup("a").withDelay(Duration.ofMillis(200))))
                    .get(10, TimeUnit.SECONDS);

            List<String> gotByC = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < deadline) {
                for (Delivery d : c.poll(10, Duration.ofMillis(200))) {
                    gotByC.add(d.id()); // not acked: under deleteOnAck that would delete it for a as well
                }
            }
            assertThat(gotByC).containsExactly("for-all");
            assertThat(redis.xpending(q, "c").getTotal()).as("c acked what it skipped; only its own message is pending").isEqualTo(1L);

            List<String> gotByA = new ArrayList<>();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (gotByA.size() < 3 && System.nanoTime() < deadline) {
                for (Delivery d : a.poll(10, Duration.ofMillis(200))) {
                    gotByA.add(d.id());
                }
            }
            assertThat(gotByA).as("a still gets its copies: skipping never deletes them")
                    .containsExactlyInAnyOrder("for-a", "for-all", "for-a-later");
        }
    }
}
