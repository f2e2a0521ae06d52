package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.SendException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * Faults on a real Redis while 10,000 messages flow through a processor: the server is killed
 * with SIGKILL and restarted mid-stream; separately, a consumer dies without acking. Afterwards
 * every message whose {@code send()} returned was handled at least once or sits in the dead-letter
 * stream; the duplicates are counted and printed.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RedisFaultTest {

    private static final int N = 10_000;
    private static final Duration VISIBILITY = Duration.ofSeconds(3);

    private static PrivateRedis redis;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = PrivateRedis.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    private static RedisTransport transport() {
        return RedisTransport.builder(redis.uri()).visibilityTimeout(VISIBILITY).timeout(Duration.ofSeconds(2)).build();
    }

    @Test
    void brokerKilledAndRestartedMidStreamLosesNothing() throws Exception {
        String queue = "fault_restart_" + System.nanoTime();
        Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
        Set<String> confirmed = ConcurrentHashMap.newKeySet();
        AtomicInteger sendFailures = new AtomicInteger();
        try (Queues queues = Queues.using(transport())) {
            Processor<String> p = queues.processor(queue, String.class).group("fault")
                    .concurrency(8)
                    .msgHandler(m -> handled.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet())
                    .start();
            Enqueue<String> out = queues.enqueue(queue, String.class);
            ExecutorService producers = Executors.newFixedThreadPool(4);
            List<Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int from = t * (N / 4);
                tasks.add(producers.submit(() -> produce(out, from, N / 4, confirmed, sendFailures)));
            }

            assertThat(await(() -> handled.size() >= N / 4, Duration.ofSeconds(60))).as("flow started").isTrue();
            int handledBeforeKill = handled.size();
            redis.kill();
            Thread.sleep(1000);
            redis.restart();

            for (Future<?> f : tasks) {
                f.get(120, TimeUnit.SECONDS);
            }
            producers.shutdown();
            assertThat(confirmed).hasSize(N);
            boolean all = await(() -> handled.keySet().containsAll(confirmed), Duration.ofSeconds(90));
            Set<String> missing = new HashSet<>(confirmed);
            missing.removeAll(handled.keySet());
            missing.removeAll(deadLetterIds(queue + "_deadletter"));
            long duplicates = handled.values().stream().filter(c -> c.get() > 1).count();
            System.out.printf("FAULT restart: sent %d (confirmed %d, %d send attempts failed during the outage), handled %d distinct "
                    + "(%d before the kill), delivered twice or more: %d, lost: %d%n",
                    N, confirmed.size(), sendFailures.get(), handled.size(), handledBeforeKill, duplicates, missing.size());
            assertThat(missing).as("confirmed messages neither handled nor dead-lettered (all handled: %s)", all).isEmpty();
            p.close();
        }
    }

    @Test
    void consumerThatDiesWithoutAckingLosesNothing() throws Exception {
        String queue = "fault_consumer_" + System.nanoTime();
        Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
        Set<String> confirmed = ConcurrentHashMap.newKeySet();
        AtomicInteger sendFailures = new AtomicInteger();

        // The consumer that dies: its own client, closed under it, so it can neither ack nor release
        // what it holds, as if its process had been killed. Its handler is slow so it holds plenty.
        UnifiedJedis doomedClient = RedisClient.create(redis.uri());
        Queues doomed = Queues.using(RedisTransport.builder(doomedClient).visibilityTimeout(VISIBILITY).build());
        AtomicInteger handledByDoomed = new AtomicInteger();
        doomed.processor(queue, String.class).group("fault").concurrency(4).prefetch(64).msgHandler(m -> {
            Thread.sleep(2);
            handled.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
            handledByDoomed.incrementAndGet();
        }).start();

        try (Queues survivor = Queues.using(transport())) {
            Enqueue<String> out = survivor.enqueue(queue, String.class);
            ExecutorService producers = Executors.newFixedThreadPool(4);
            List<Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int from = t * (N / 4);
                tasks.add(producers.submit(() -> produce(out, from, N / 4, confirmed, sendFailures)));
            }
            assertThat(await(() -> handled.size() >= 500, Duration.ofSeconds(60))).as("flow started").isTrue();
            doomedClient.close();
            int handledBeforeDeath = handledByDoomed.get();

            survivor.processor(queue, String.class).group("fault").concurrency(8)
                    .msgHandler(m -> handled.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet())
                    .start();
            for (Future<?> f : tasks) {
                f.get(120, TimeUnit.SECONDS);
            }
            producers.shutdown();
            boolean all = await(() -> handled.keySet().containsAll(confirmed), Duration.ofSeconds(90));
            Set<String> missing = new HashSet<>(confirmed);
            missing.removeAll(handled.keySet());
            missing.removeAll(deadLetterIds(queue + "_deadletter"));
            long duplicates = handled.values().stream().filter(c -> c.get() > 1).count();
            System.out.printf("FAULT consumer death: sent %d (confirmed %d), handled %d distinct (%d by the consumer before it died), "
                    + "delivered twice or more: %d, lost: %d%n",
                    N, confirmed.size(), handled.size(), handledBeforeDeath, duplicates, missing.size());
            assertThat(confirmed).hasSize(N);
            assertThat(missing).as("confirmed messages neither handled nor dead-lettered (all handled: %s)", all).isEmpty();
        } finally {
            doomed.close();
        }
    }

    /** Sends {@code count} messages, each again (same id) until the broker confirms it. */
    private static Void produce(Enqueue<String> out, int from, int count, Set<String> confirmed, AtomicInteger failures)
            throws InterruptedException {
        for (int i = from; i < from + count; i++) {
            Msg<String> msg = Msg.of("m-" + i);
            while (true) {
                try {
                    confirmed.add(out.send(msg).id());
                    break;
                } catch (SendException e) {
                    failures.incrementAndGet();
                    Thread.sleep(200);
                }
            }
        }
        return null;
    }

    private static Set<String> deadLetterIds(String dlq) {
        Set<String> ids = new HashSet<>();
        try (UnifiedJedis j = RedisClient.create(redis.uri())) {
            j.xrange(dlq, "-", "+").forEach(e -> ids.add(e.getFields().getOrDefault(StreamFields.ID, e.getID().toString())));
        }
        return ids;
    }

    private static boolean await(BooleanSupplier condition, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }
}
