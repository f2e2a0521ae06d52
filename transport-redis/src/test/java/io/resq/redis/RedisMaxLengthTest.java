package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.testkit.Brokers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;

/**
 * The {@code maxLength} cap deletes entries whether or not groups have read them, and every such
 * loss is counted (per group, in Redis) and logged.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisMaxLengthTest {

    private RedisClient redis;

    @BeforeEach
    void connect() {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        redis = RedisClient.create(Brokers.redisUri());
    }

    @AfterEach
    void close() {
        redis.close();
    }

    private static String queue(String base) {
        return "cap_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static List<Delivery> receive(Receiver r, int n) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(100)));
        }
        return got;
    }

    private static List<Outbound> batch(String prefix, int n) {
        List<Outbound> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Outbound.of(prefix + i, ("body" + i).getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** Runs {@code action} and returns what was logged meanwhile (the test logger writes to System.err). */
    private static String logOf(ThrowingRunnable action) throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        original.print(log);
        return log;
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void entriesDeletedBeforeAGroupReadOrAckedThemAreCountedPerGroupAndLogged() throws Exception {
        String q = queue("groups");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).maxLength(10).build()) {
            Receiver all = t.receiver(q, ReceiverOptions.group("all"));
            Receiver some = t.receiver(q, ReceiverOptions.group("some"));
            t.receiver(q, ReceiverOptions.group("none"));
            t.sender(q).send(batch("m", 10)).get(10, TimeUnit.SECONDS);
            assertThat(t.deletedUnread(q)).as("at the cap, nothing is deleted").isEmpty();

            receive(all, 10).forEach(Delivery::ack);
            List<Delivery> three = receive(some, 3);
            assertThat(three).hasSize(3);
            three.get(0).ack(); // m1 and m2 stay delivered but unacked; m3..m9 unread
            awaitAcked(q, "some", 2);
            awaitAcked(q, "all", 0);

            // Five more in one batch: m0..m4 go. "all" acked them; "some" acked m0, holds m1, m2 and never saw m3, m4;
            // "none" never saw any of the five.
            String log = logOf(() -> t.sender(q).send(batch("n", 5)).get(10, TimeUnit.SECONDS));

            assertThat(redis.xlen(q)).isEqualTo(10);
            assertThat(t.deletedUnread(q)).containsExactlyInAnyOrderEntriesOf(Map.of("some", 4L, "none", 5L));
            assertThat(t.health().detail()).contains("deleted unread by maxLength: " + q
                    + " [group none: 5 undelivered + 0 unacked, group some: 2 undelivered + 2 unacked]");
            assertThat(log).contains("WARN").contains("maxLength 10 of stream " + q)
                    .contains("group none: 5 never delivered, 0 delivered but not acked")
                    .contains("group some: 2 never delivered, 2 delivered but not acked")
                    .doesNotContain("body");
            // The unacked ones left the pending list with their entries, so no consumer reports them again.
            assertThat(redis.xpending(q, "some").getTotal()).isZero();

            // One at a time, each send deletes one entry: m5..m9, unread by "none" and by "some".
            String quiet = logOf(() -> {
                for (int i = 0; i < 5; i++) {
                    t.sender(q).send(Outbound.of("p" + i, new byte[] {1})).get(10, TimeUnit.SECONDS);
                }
            });
            assertThat(quiet).as("at most one line per stream every 10 s").doesNotContain("of stream " + q);
            assertThat(t.deletedUnread(q)).containsExactlyInAnyOrderEntriesOf(Map.of("some", 4L + 5, "none", 5L + 5));
            assertThat(receive(some, 10)).extracting(Delivery::id)
                    .containsExactly("n0", "n1", "n2", "n3", "n4", "p0", "p1", "p2", "p3", "p4");
        } finally {
            redis.del(q, Keys.trimmedUnread(q));
        }
    }

    @Test
    void countsStayExactWhenRedisCannotTellAGroupsLag() throws Exception {
        String q = queue("nolag");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).maxLength(10).build()) {
            Receiver r = t.receiver(q, ReceiverOptions.group("g"));
            t.sender(q).send(batch("m", 10)).get(10, TimeUnit.SECONDS);
            List<Delivery> two = receive(r, 2);
            two.forEach(Delivery::ack);
            awaitAcked(q, "g", 0);
            // Deleting an entry the group has not read (as another tool might) leaves Redis unable to tell its lag.
            StreamEntryID m5 = redis.xrange(q, (StreamEntryID) null, (StreamEntryID) null, 6).get(5).getID();
            redis.xdel(q, m5);
            assertThat(redis.xinfoGroups(q).get(0).getGroupInfo().get("lag")).as("lag").isNull();

            // 9 entries + 6 = 15: five go (m0, m1 acked; m2, m3, m4 unread).
            t.sender(q).send(batch("n", 6)).get(10, TimeUnit.SECONDS);
            assertThat(redis.xlen(q)).isEqualTo(10);
            assertThat(t.deletedUnread(q)).containsExactlyEntriesOf(Map.of("g", 3L));
        } finally {
            redis.del(q, Keys.trimmedUnread(q));
        }
    }

    @Test
    void delayedMessagesMovedIntoACappedStreamAreCountedToo() throws Exception {
        String q = queue("moved");
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).maxLength(3).build()) {
            Receiver r = t.receiver(q, ReceiverOptions.group("g"));
            Receiver idle = t.receiver(q, ReceiverOptions.group("idle"));
            List<Outbound> delayed = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                delayed.add(new Outbound("d" + i, null, Map.of(), new byte[] {1}, Duration.ofMillis(1)));
            }
            t.sender(q).send(delayed).get(10, TimeUnit.SECONDS);
            Thread.sleep(50); // due
            // The receiver moves them into the stream: 5 entries, cap 3.
            List<Delivery> got = receive(r, 3);
            assertThat(got).hasSize(3);
            assertThat(redis.xlen(q)).isEqualTo(3);
            assertThat(t.deletedUnread(q)).containsEntry("idle", 2L).containsEntry("g", 2L);
            idle.close();
        } finally {
            redis.del(q, Keys.trimmedUnread(q));
        }
    }

    private void awaitAcked(String q, String group, long pending) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (redis.xpending(q, group).getTotal() != pending && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(redis.xpending(q, group).getTotal()).as("pending of group %s", group).isEqualTo(pending);
    }
}
