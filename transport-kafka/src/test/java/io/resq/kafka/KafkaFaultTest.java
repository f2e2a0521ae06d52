package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.kafka.testing.DyingConsumer;
import io.resq.kafka.testing.KafkaBrokerProcess;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Faults on a real broker in a child JVM: the broker is killed (SIGKILL) and restarted while
 * 10,000 messages flow through a processor, and a consumer process dies without acking. Every
 * message must end up handled or dead-lettered; the tests print how many were handled twice.
 *
 * <p>Always uses its own child-JVM broker (it must be able to kill it), never RESQ_KAFKA_BOOTSTRAP.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class KafkaFaultTest {

    private static final int N = 10_000;
    private static KafkaBrokerProcess broker;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBrokerProcess.start();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    private static Map<String, Object> config() {
        return Map.of("bootstrap.servers", broker.bootstrapServers());
    }

    @Test
    void brokerKilledAndRestartedWhileTenThousandMessagesFlowLosesNothing() throws Exception {
        String topic = "fault_restart_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
        Set<String> confirmed = ConcurrentHashMap.newKeySet();
        AtomicInteger sendFailures = new AtomicInteger();
        try (Queues queues = Queues.using(KafkaTransport.create(config()))) {
            queues.processor(topic, String.class).group("fault").concurrency(8)
                    .handler(p -> {
                        Thread.sleep(1);
                        handled.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet();
                    })
                    .start();
            Enqueue<String> out = queues.enqueue(topic, String.class);
            // Paced so that sending and handling are both under way when the broker dies.
            CompletableFuture<Void> producing = CompletableFuture.runAsync(() -> sendAll(out, confirmed, sendFailures, 200));

            await(() -> handled.size() >= 1_000, "1,000 handled before the kill");
            broker.kill();
            int handledAtKill = handled.size();
            int confirmedAtKill = confirmed.size();
            long downAt = System.nanoTime();
            broker.restart();
            long downMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downAt);
            producing.get(180, TimeUnit.SECONDS);
            await(() -> handled.keySet().containsAll(confirmed), "every confirmed message handled");

            Set<String> missing = new HashSet<>(confirmed);
            missing.removeAll(handled.keySet());
            missing.removeAll(deadLettered(queues, topic + "_deadletter"));
            long twice = handled.values().stream().filter(c -> c.get() > 1).count();
            System.out.printf("[fault] broker kill+restart (down %d ms): %d sent and confirmed (%d before the kill), %d handled (%d before the kill),"
                    + " %d handled more than once, %d send attempts failed during the outage and were retried%n",
                    downMs, confirmed.size(), confirmedAtKill, handled.size(), handledAtKill, twice, sendFailures.get());
            assertThat(confirmed).hasSize(N);
            assertThat(missing).as("lost messages").isEmpty();
        }
    }

    /**
     * An offset commit that fails while the broker is down is tried again once it is back: the
     * record acked during the outage is committed without more acks and is not handled again.
     */
    @Test
    void aCommitThatFailedWhileTheBrokerWasDownIsRetried() throws Exception {
        String topic = "fault_commit_" + UUID.randomUUID().toString().substring(0, 8);
        String group = "commit";
        Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()));
             Queues queues = Queues.using(KafkaTransport.create(config()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            queues.processor(topic, String.class).group(group).handler(p -> {
                handled.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet();
                if (p.equals("b")) {
                    holding.countDown();
                    release.await();
                }
            }).start();
            Enqueue<String> out = queues.enqueue(topic, String.class);
            out.send("a");
            await(() -> committed(admin, group, topic) == 1, "a committed");
            out.send("b");
            assertThat(holding.await(60, TimeUnit.SECONDS)).isTrue();

            broker.kill();
            release.countDown(); // b is acked while the broker is down: its commit fails
            Thread.sleep(3000);
            broker.restart();

            // No other ack comes: only a retry of the failed commit moves the group past b.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (committed(admin, group, topic) != 2 && System.nanoTime() < until) {
                Thread.sleep(100);
            }
            assertThat(committed(admin, group, topic)).as("committed offset after the restart").isEqualTo(2);
            assertThat(handled.get("b").get()).as("handlings of b").isEqualTo(1);
        }
    }

    private static long committed(Admin admin, String group, String topic) {
        try {
            OffsetAndMetadata o = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS).get(new TopicPartition(topic, 0));
            return o == null ? -1 : o.offset();
        } catch (Exception e) {
            return -2;
        }
    }

    @Test
    void consumerProcessDiesWithoutAckingAndTheGroupLosesNothing() throws Exception {
        String topic = "fault_dying_" + UUID.randomUUID().toString().substring(0, 8);
        String group = "fault-group";
        Set<String> confirmed = ConcurrentHashMap.newKeySet();
        try (Queues queues = Queues.using(KafkaTransport.create(config()))) {
            sendAll(queues.enqueue(topic, String.class), confirmed, new AtomicInteger(), 0);
            assertThat(confirmed).hasSize(N);

            // A consumer in another JVM handles 3,000, hangs on the rest, and is killed.
            Set<String> handledByDead = ConcurrentHashMap.newKeySet();
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:+UseSerialGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp", System.getProperty("java.class.path"), DyingConsumer.class.getName(),
                    broker.bootstrapServers(), topic, group, "3000").redirectErrorStream(true).start();
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                while (handledByDead.size() < 3000 && System.nanoTime() < deadline && (line = lines.readLine()) != null) {
                    if (line.startsWith("handled ")) {
                        handledByDead.add(line.substring(8));
                    }
                }
                child.destroyForcibly();
                child.waitFor(30, TimeUnit.SECONDS);
            }
            assertThat(handledByDead).as("the dying consumer handled its share before the kill").hasSize(3000);

            Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
            queues.processor(topic, String.class).group(group).concurrency(8)
                    .handler(p -> handled.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet())
                    .start();
            Set<String> expected = new HashSet<>(confirmed);
            expected.removeAll(handledByDead);
            await(() -> handled.keySet().containsAll(expected), "the survivor handles everything the dead one did not");

            Set<String> all = new HashSet<>(handledByDead);
            all.addAll(handled.keySet());
            Set<String> twice = new HashSet<>(handledByDead);
            twice.retainAll(handled.keySet());
            System.out.printf("[fault] consumer killed: %d sent, %d handled by the dead consumer, %d by the survivor, %d handled twice%n",
                    confirmed.size(), handledByDead.size(), handled.size(), twice.size());
            assertThat(all).as("handled by one or the other").containsAll(confirmed);
        }
    }

    /** Sends N messages in windows of 500 async sends, pausing between windows; a failed send is retried until confirmed, as an application would. */
    private static void sendAll(Enqueue<String> out, Set<String> confirmed, AtomicInteger failures, long pauseMs) {
        List<String> pending = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            pending.add("m-" + i);
        }
        while (!pending.isEmpty()) {
            List<String> window = new ArrayList<>(pending.subList(0, Math.min(500, pending.size())));
            List<CompletableFuture<Msg<String>>> futures = new ArrayList<>();
            window.forEach(p -> futures.add(out.sendAsync(p)));
            for (int i = 0; i < window.size(); i++) {
                try {
                    futures.get(i).get(120, TimeUnit.SECONDS);
                    confirmed.add(window.get(i));
                    pending.remove(window.get(i));
                } catch (Exception e) {
                    failures.incrementAndGet();
                }
            }
            sleep(!pending.isEmpty() && pending.get(0).equals(window.get(0)) ? 500 : pauseMs);
        }
    }

    private static Set<String> deadLettered(Queues queues, String dlq) throws InterruptedException {
        Set<String> out = new HashSet<>();
        try (var dead = queues.dequeue(dlq, String.class, "fault-dlq-reader")) {
            Msg<String> m;
            while ((m = dead.messages().poll(3, TimeUnit.SECONDS)) != null) {
                out.add(m.payload());
                dead.ack(m);
            }
        }
        return out;
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(50);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
