package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import io.resq.testkit.Brokers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.args.ClientPauseMode;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Sends outstanding at the same time share pipelined round trips: on the Redis of the tests, and
 * on private redis-servers that can be paused ({@code CLIENT PAUSE WRITE}, so that sends pile up
 * behind a write Redis holds back), killed or outlived by a closed transport.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisPipelinedSendTest {

    private static String queue(String base) {
        return "piped_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static byte[] body(int i) {
        return ("body-" + i + "-" + "x".repeat(100)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The message ids of the stream's entries, in stream order. */
    private static List<String> idsIn(UnifiedJedis redis, String stream) {
        List<String> ids = new ArrayList<>();
        for (StreamEntry e : redis.xrange(stream, "-", "+")) {
            ids.add(e.getFields().get(StreamFields.ID));
        }
        return ids;
    }

    /**
     * Makes the sends on a new thread and returns their futures. A new thread has no history of
     * waiting for each send (which would have it write them itself), so its sends go to the writer.
     */
    private static List<CompletableFuture<Void>> sendFromNewThread(Sender sender, List<Outbound> messages) throws Exception {
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        Thread caller = new Thread(() -> messages.forEach(m -> sent.add(sender.send(m))));
        caller.start();
        caller.join(60_000);
        assertThat(sent).as("sends made").hasSize(messages.size());
        return sent;
    }

    /** Redis' count of read events on client sockets: a pipelined round trip is one (or a few, for a large one), a lone command one. */
    private static long readsProcessed(Jedis admin) {
        return admin.info("stats").lines().filter(l -> l.startsWith("total_reads_processed:")).findFirst()
                .map(l -> Long.parseLong(l.substring("total_reads_processed:".length()).trim())).orElseThrow();
    }

    @Test
    void sendsHeldBackBehindABusyRoundTripGoOutAsOnePipeline() throws Exception {
        int n = 1_000;
        String q = queue("batched");
        try (PrivateRedis redis = PrivateRedis.start();
             RedisTransport t = RedisTransport.create(redis.uri());
             Jedis admin = new Jedis("127.0.0.1", redis.port(), 10_000);
             UnifiedJedis raw = RedisClient.create(redis.uri())) {
            Sender sender = t.sender(q);
            sender.send(Outbound.of("warm-up", body(-1))).get(10, TimeUnit.SECONDS);
            long before = readsProcessed(admin);

            // Redis holds back every write for 300 ms: the first send waits in its round trip while the others are made.
            admin.clientPause(300, ClientPauseMode.WRITE);
            List<Outbound> messages = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                messages.add(Outbound.of("m" + i, body(i)));
            }
            List<CompletableFuture<Void>> sent = sendFromNewThread(sender, messages);
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            long reads = readsProcessed(admin) - before;

            List<String> expected = new ArrayList<>(List.of("warm-up"));
            for (int i = 0; i < n; i++) {
                expected.add("m" + i);
            }
            assertThat(idsIn(raw, q)).as("every send once, in the order sent").isEqualTo(expected);
            // One round trip per send would be at least n reads; pipelines of hundreds of XADDs take a few reads each.
            assertThat(reads).as("read events Redis processed for %d sends", n).isLessThan(n / 4);
        }
    }

    @Test
    void aThreadThatWaitsForEachSendWritesItItselfAndStillPipelinesOnceItStopsWaiting() throws Exception {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        String q = queue("waiting");
        int n = 64;
        try (RedisTransport t = RedisTransport.create(Brokers.redisUri());
             UnifiedJedis raw = RedisClient.create(Brokers.redisUri())) {
            Sender sender = t.sender(q);
            int answeredOnReturn = 0;
            for (int i = 0; i < n; i++) {
                CompletableFuture<Void> f = sender.send(Outbound.of("w" + i, body(i)));
                if (f.isDone()) {
                    answeredOnReturn++;
                }
                f.get(10, TimeUnit.SECONDS);
            }
            // Written on this thread, no hand-off: all but the first sends (before the thread was seen
            // waiting) and one in PROBE_EVERY (handed to the writer to notice a change).
            assertThat(answeredOnReturn).isGreaterThanOrEqualTo(n - (StreamWriter.WAITING_AFTER + 1) - n / StreamWriter.PROBE_EVERY);

            // The same thread stops waiting: its sends queue up behind the writer's round trips.
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            int pendingOnReturn = 0;
            for (int i = 0; i < 1_000; i++) {
                CompletableFuture<Void> f = sender.send(Outbound.of("a" + i, body(i)));
                if (!f.isDone()) {
                    pendingOnReturn++;
                }
                sent.add(f);
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            // At the least, every PROBE_EVERY-th send went to the writer; once one was still unanswered
            // when the next was made, all did (how soon depends on the writer's speed, so not asserted).
            assertThat(pendingOnReturn).as("sends handed to the writer").isGreaterThanOrEqualTo(1_000 / StreamWriter.PROBE_EVERY / 2);
            assertThat(idsIn(raw, q)).hasSize(n + 1_000).doesNotHaveDuplicates();
        }
    }

    @Test
    void aCallerWaitsWhileTheQueueIsFullAndEverySendLandsOnce() throws Exception {
        int n = StreamWriter.MAX_QUEUED_UNITS + 4_000;
        String q = queue("full");
        try (PrivateRedis redis = PrivateRedis.start();
             RedisTransport t = RedisTransport.builder(redis.uri()).timeout(Duration.ofSeconds(20)).build();
             Jedis admin = new Jedis("127.0.0.1", redis.port(), 10_000)) {
            Sender sender = t.sender(q);
            sender.send(Outbound.of("warm-up", body(-1))).get(10, TimeUnit.SECONDS);

            admin.clientPause(15_000, ClientPauseMode.WRITE);
            List<CompletableFuture<Void>> sent = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.atomic.AtomicInteger returned = new java.util.concurrent.atomic.AtomicInteger();
            Thread caller = new Thread(() -> {
                for (int i = 0; i < n; i++) {
                    sent.add(sender.send(Outbound.of("m" + i, body(i))));
                    returned.incrementAndGet();
                }
            });
            caller.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (caller.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(caller.getState()).as("the caller waits for room while Redis holds the writes back")
                    .isEqualTo(Thread.State.TIMED_WAITING);
            // The first round trip took some (it waits in Redis); the queue holds one unit per small message.
            assertThat(returned.get()).isBetween(StreamWriter.MAX_QUEUED_UNITS,
                    StreamWriter.MAX_QUEUED_UNITS + StreamWriter.MAX_BATCH_MESSAGES);
            admin.clientUnpause();

            caller.join(60_000);
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            assertThat(admin.xlen(q)).isEqualTo(n + 1L);
        }
    }

    @Test
    void sendsGoOnWhenRedisForgotTheScripts() throws Exception {
        String q = queue("flushed");
        try (PrivateRedis redis = PrivateRedis.start();
             RedisTransport t = RedisTransport.builder(redis.uri()).maxLength(1_000).build();
             Jedis admin = new Jedis("127.0.0.1", redis.port(), 10_000)) {
            Sender sender = t.sender(q);
            for (int round = 0; round < 3; round++) {
                // The add, cap and delay scripts: unknown to the server the first time and after each flush;
                // in the last round the cap script is known (loaded by another process) and the add is not.
                admin.scriptFlush();
                if (round == 2) {
                    admin.scriptLoad(Scripts.CAP.source());
                }
                List<Outbound> batch = new ArrayList<>();
                for (int i = 0; i < 600; i++) {
                    Outbound m = Outbound.of("r" + round + "-" + i, body(i));
                    batch.add(i % 10 == 0 ? m.withDelay(Duration.ofMinutes(1)) : m);
                }
                sender.send(batch).get(10, TimeUnit.SECONDS);
            }
            // 3 x 540 undelayed entries, capped at 1,000 (trimmed once the stream held more than 1,010).
            assertThat(admin.xlen(q)).isEqualTo(1_000);
            assertThat(admin.zcard(Keys.delayed(q))).isEqualTo(180);
            try (UnifiedJedis raw = RedisClient.create(redis.uri())) {
                List<String> ids = idsIn(raw, q);
                assertThat(ids.get(ids.size() - 1)).isEqualTo("r2-599");
                assertThat(ids).doesNotHaveDuplicates();
            }
        }
    }

    @Test
    void concurrentCallersEachLandOnceAndInTheirOwnOrder() throws Exception {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        int threads = 8;
        int perThread = 300;
        String q = queue("callers");
        try (RedisTransport t = RedisTransport.create(Brokers.redisUri());
             UnifiedJedis raw = RedisClient.create(Brokers.redisUri())) {
            Sender sender = t.sender(q);
            List<CompletableFuture<Void>> sent = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> callers = new ArrayList<>();
            for (int c = 0; c < threads; c++) {
                int caller = c;
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        // Every other send is a batch of two, so single sends and batches share pipelines.
                        if (i % 2 == 0) {
                            sent.add(sender.send(Outbound.of("c" + caller + "-" + i, body(i))));
                        } else {
                            sent.add(sender.send(List.of(Outbound.of("c" + caller + "-" + i + "a", body(i)),
                                    Outbound.of("c" + caller + "-" + i + "b", body(i)))));
                        }
                    }
                });
                th.start();
                callers.add(th);
            }
            go.countDown();
            for (Thread th : callers) {
                th.join(60_000);
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

            List<String> ids = idsIn(raw, q);
            assertThat(ids).as("no duplicates").doesNotHaveDuplicates();
            assertThat(ids).hasSize(threads * perThread * 3 / 2);
            Map<String, List<String>> perCaller = new HashMap<>();
            ids.forEach(id -> perCaller.computeIfAbsent(id.substring(0, id.indexOf('-')), k -> new ArrayList<>()).add(id));
            for (int c = 0; c < threads; c++) {
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < perThread; i++) {
                    if (i % 2 == 0) {
                        expected.add("c" + c + "-" + i);
                    } else {
                        expected.add("c" + c + "-" + i + "a");
                        expected.add("c" + c + "-" + i + "b");
                    }
                }
                assertThat(perCaller.get("c" + c)).as("caller %d's sends in its order", c).isEqualTo(expected);
            }
        }
    }

    @Test
    void aCommandRedisRefusesInsideAPipelineFailsOnlyTheSendsItBelongsTo() throws Exception {
        String q = queue("refused");
        try (PrivateRedis redis = PrivateRedis.start();
             RedisTransport t = RedisTransport.create(redis.uri());
             Jedis admin = new Jedis("127.0.0.1", redis.port(), 10_000)) {
            // Redeliveries for group "broken" go to a sorted set; a string under that key makes Redis refuse them.
            admin.set(Keys.delayed(q, "broken"), "not a sorted set");
            Sender sender = t.sender(q);
            sender.send(Outbound.of("warm-up", body(-1))).get(10, TimeUnit.SECONDS);

            admin.clientPause(300, ClientPauseMode.WRITE);
            List<String> kinds = new ArrayList<>();
            List<Outbound> messages = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                Outbound m = Outbound.of("m" + i, body(i));
                String kind = switch (i % 3) {
                    case 0 -> "broken";
                    case 1 -> "delayed";
                    default -> "now";
                };
                if (kind.equals("broken")) {
                    m = m.withDelay(Duration.ofMinutes(1)).withGroup("broken");
                } else if (kind.equals("delayed")) {
                    m = m.withDelay(Duration.ofMinutes(1));
                }
                kinds.add(kind + i);
                messages.add(m);
            }
            List<CompletableFuture<Void>> futures = sendFromNewThread(sender, messages);
            Map<String, CompletableFuture<Void>> sent = new java.util.LinkedHashMap<>();
            for (int i = 0; i < kinds.size(); i++) {
                sent.put(kinds.get(i), futures.get(i));
            }

            for (Map.Entry<String, CompletableFuture<Void>> e : sent.entrySet()) {
                if (e.getKey().startsWith("broken")) {
                    assertThatThrownBy(() -> e.getValue().get(30, TimeUnit.SECONDS))
                            .as(e.getKey())
                            .isInstanceOf(ExecutionException.class)
                            .cause()
                            .isInstanceOf(RedisTransportException.class)
                            .hasMessageContaining("127.0.0.1:" + redis.port())
                            .hasMessageContaining("stream " + q)
                            .hasMessageContaining("WRONGTYPE");
                } else {
                    e.getValue().get(30, TimeUnit.SECONDS);
                }
            }
            assertThat(admin.xlen(q)).as("the undelayed sends and the warm-up").isEqualTo(101);
            assertThat(admin.zcard(Keys.delayed(q))).as("the delayed sends").isEqualTo(100);
        }
    }

    @Test
    void redisDyingUnderOutstandingSendsFailsEachClearlyAndLosesNoConfirmedOne() throws Exception {
        int n = 3_000;
        String q = queue("killed");
        try (PrivateRedis redis = PrivateRedis.start();
             RedisTransport t = RedisTransport.builder(redis.uri()).timeout(Duration.ofSeconds(1)).build()) {
            Sender sender = t.sender(q);
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            CountDownLatch some = new CountDownLatch(200);
            CompletableFuture<Boolean> killed = new CompletableFuture<>();
            // A new thread: one with no history of waiting for each send, so its sends go to the writer.
            Thread caller = new Thread(() -> {
                try {
                    for (int i = 0; i < n; i++) {
                        CompletableFuture<Void> f = sender.send(Outbound.of("m" + i, body(i)));
                        f.whenComplete((ok, e) -> some.countDown());
                        sent.add(f);
                        if (i == n / 3) {
                            killed.complete(some.await(20, TimeUnit.SECONDS));
                            redis.kill();
                        }
                    }
                } catch (InterruptedException e) {
                    killed.completeExceptionally(e);
                }
            });
            caller.start();
            caller.join(60_000);
            assertThat(killed.get(1, TimeUnit.SECONDS)).as("sends were confirmed before the kill").isTrue();
            assertThat(sent).hasSize(n);

            Set<String> confirmed = new HashSet<>();
            int failed = 0;
            for (int i = 0; i < n; i++) {
                try {
                    sent.get(i).get(30, TimeUnit.SECONDS);
                    confirmed.add("m" + i);
                } catch (ExecutionException e) {
                    failed++;
                    assertThat(e.getCause())
                            .isInstanceOf(RedisTransportException.class)
                            .hasMessageContaining("127.0.0.1:" + redis.port())
                            .hasMessageContaining("stream " + q);
                }
            }
            assertThat(confirmed).as("confirmed before the kill").hasSizeGreaterThanOrEqualTo(200);
            assertThat(failed).as("sends made after the kill").isGreaterThanOrEqualTo(n - n / 3 - 1);

            redis.restart();
            sender.send(Outbound.of("after", body(0))).get(10, TimeUnit.SECONDS);
            try (UnifiedJedis raw = RedisClient.create(redis.uri())) {
                List<String> ids = idsIn(raw, q);
                assertThat(ids).doesNotHaveDuplicates().containsAll(confirmed).contains("after");
            }
        }
    }

    @Test
    void closeWithSendsOutstandingNeitherHangsNorLeavesOneUnanswered() throws Exception {
        int n = 1_000;
        String q = queue("closed");
        try (PrivateRedis redis = PrivateRedis.start();
             Jedis admin = new Jedis("127.0.0.1", redis.port(), 10_000)) {
            RedisTransport t = RedisTransport.create(redis.uri());
            Sender sender = t.sender(q);
            sender.send(Outbound.of("warm-up", body(-1))).get(10, TimeUnit.SECONDS);

            admin.clientPause(1_000, ClientPauseMode.WRITE);
            List<Outbound> messages = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                messages.add(Outbound.of("m" + i, body(i)));
            }
            List<CompletableFuture<Void>> sent = sendFromNewThread(sender, messages);
            long start = System.nanoTime();
            t.close();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("close").isLessThan(Duration.ofSeconds(20));

            Set<String> confirmed = new HashSet<>();
            for (int i = 0; i < n; i++) {
                try {
                    sent.get(i).get(10, TimeUnit.SECONDS);
                    confirmed.add("m" + i);
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
                }
            }
            assertThatThrownBy(() -> sender.send(Outbound.of("late", body(0))).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            try (UnifiedJedis raw = RedisClient.create(redis.uri())) {
                List<String> ids = idsIn(raw, q);
                assertThat(ids).doesNotHaveDuplicates().containsAll(confirmed).doesNotContain("late");
            }
        }
    }

    @Test
    void aCallbackMaySendAndWaitOrWaitForAnotherSend() throws Exception {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        String q = queue("callback");
        try (RedisTransport t = RedisTransport.create(Brokers.redisUri());
             UnifiedJedis raw = RedisClient.create(Brokers.redisUri())) {
            Sender sender = t.sender(q);

            // A callback that sends again and waits for it, on whatever thread completed the first send.
            CompletableFuture<String> nested = new CompletableFuture<>();
            sender.send(Outbound.of("first", body(1))).whenComplete((ok, e) -> {
                try {
                    sender.send(Outbound.of("second", body(2))).get(10, TimeUnit.SECONDS);
                    nested.complete("sent from the callback");
                } catch (Exception x) {
                    nested.completeExceptionally(x);
                }
            });
            assertThat(nested.get(20, TimeUnit.SECONDS)).isEqualTo("sent from the callback");

            // A callback that blocks until another thread's later send is confirmed.
            CountDownLatch callbackRunning = new CountDownLatch(1);
            CompletableFuture<Void> later = new CompletableFuture<>();
            CompletableFuture<String> waited = new CompletableFuture<>();
            Thread other = new Thread(() -> {
                try {
                    callbackRunning.await();
                    sender.send(Outbound.of("fourth", body(4))).whenComplete((ok, e) -> {
                        if (e == null) {
                            later.complete(null);
                        } else {
                            later.completeExceptionally(e);
                        }
                    });
                } catch (InterruptedException e) {
                    later.completeExceptionally(e);
                }
            });
            other.start();
            sender.send(Outbound.of("third", body(3))).whenComplete((ok, e) -> {
                callbackRunning.countDown();
                try {
                    later.get(10, TimeUnit.SECONDS);
                    waited.complete("the later send was confirmed");
                } catch (Exception x) {
                    waited.completeExceptionally(x);
                }
            });
            assertThat(waited.get(20, TimeUnit.SECONDS)).isEqualTo("the later send was confirmed");
            other.join(10_000);
            assertThat(idsIn(raw, q)).containsExactly("first", "second", "third", "fourth");
        }
    }
}
