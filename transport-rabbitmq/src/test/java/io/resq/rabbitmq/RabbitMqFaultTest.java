package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.SendException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Nothing is lost when the broker cuts connections while 10,000 messages flow through a
 * processor, nor when a consumer dies holding messages it never acked. Each test prints how many
 * messages were handled more than once (at-least-once delivery allows duplicates, never loss).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RabbitMqFaultTest {

    private static final int MESSAGES = 10_000;
    private static final int PRODUCERS = 2;
    private static final Duration DEADLINE = Duration.ofSeconds(180);
    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    private static String queueName(String base) {
        String name = "fault_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(name);
        QUEUES.add(name + "_deadletter");
        QUEUES.add(name + "_deadletter_deadletter"); // declared by the dead-letter queue's own reader
        return name;
    }

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    @Test
    void everyMessageIsHandledWhenTheBrokerCutsTheConnectionsAndRestarts() throws Exception {
        RabbitBroker.requireControl();
        String queue = queueName("cut");
        Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
        AtomicInteger sendRetries = new AtomicInteger();
        List<String> cuts = new ArrayList<>();
        String name = "resq-cut-" + UUID.randomUUID().toString().substring(0, 8);
        try (Queues queues = Queues.using(RabbitMqTransport.builder(RabbitBroker.factory()).connectionName(name).build())) {
            queues.processor(queue, String.class).concurrency(8)
                    .msgHandler(m -> handled.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet())
                    .start();
            ExecutorService producers = Executors.newFixedThreadPool(PRODUCERS);
            try {
                List<Future<?>> sending = produce(queues.enqueue(queue, String.class), producers, sendRetries);
                assertThat(await(() -> handled.size() >= MESSAGES / 5)).as("handled %s", handled.size()).isTrue();
                // Only this test's connections: other clients of the broker are left alone.
                int closed = RabbitBroker.closeConnectionsNamed(name);
                cuts.add(closed + " connections closed by the broker at " + handled.size() + " handled");
                assertThat(await(() -> handled.size() >= MESSAGES / 2)).as("handled %s", handled.size()).isTrue();
                RabbitBroker.restartApp();
                cuts.add("broker restarted at " + handled.size() + " handled");
                for (Future<?> f : sending) {
                    f.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
                }
            } finally {
                producers.shutdownNow();
            }
            await(() -> handled.size() == MESSAGES);
            Thread.sleep(2000); // redeliveries of messages whose ack was lost arrive a little later
            Set<String> dead = drainDeadLetters(queues, queue);
            report(String.join(", then ", cuts), handled, dead, sendRetries.get(), 0);
            assertNothingLost(handled, dead);
        }
    }

    @Test
    void messagesHeldByAConsumerThatDiesWithoutAckingGoToTheOthers() throws Exception {
        RabbitBroker.requireControl();
        String queue = queueName("dies");
        String dyingName = "resq-dying-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
        Set<String> heldByDying = ConcurrentHashMap.newKeySet();
        AtomicInteger sendRetries = new AtomicInteger();
        try (Queues survivor = Queues.using(RabbitMqTransport.create(RabbitBroker.factory()));
                Queues dying = Queues.using(RabbitMqTransport.builder(RabbitBroker.factory()).connectionName(dyingName).build())) {
            Processor<String> doomed = dying.processor(queue, String.class).concurrency(4).prefetch(50)
                    .drainTimeout(Duration.ofSeconds(1))
                    .msgHandler(m -> {
                        heldByDying.add(m.id());
                        Thread.sleep(Long.MAX_VALUE); // hangs like a crashed worker, never acks
                    })
                    .start();
            survivor.processor(queue, String.class).concurrency(8)
                    .msgHandler(m -> handled.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet())
                    .start();
            ExecutorService producers = Executors.newFixedThreadPool(PRODUCERS);
            int cut;
            try {
                List<Future<?>> sending = produce(survivor.enqueue(queue, String.class), producers, sendRetries);
                assertThat(await(() -> heldByDying.size() >= 4 && handled.size() >= MESSAGES / 5)).isTrue();
                cut = RabbitBroker.closeConnectionsNamed(dyingName);
                doomed.close();
                dying.close();
                for (Future<?> f : sending) {
                    f.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
                }
            } finally {
                producers.shutdownNow();
            }
            assertThat(cut).as("connections of the dying consumer cut").isEqualTo(2);
            await(() -> handled.size() == MESSAGES);
            Thread.sleep(2000);
            Set<String> dead = drainDeadLetters(survivor, queue);
            report("a consumer died holding " + heldByDying.size() + " unacked messages", handled, dead, sendRetries.get(),
                    heldByDying.size());
            assertNothingLost(handled, dead);
            Set<String> recovered = new HashSet<>(heldByDying);
            recovered.removeAll(dead);
            assertThat(handled.keySet()).as("messages the dead consumer held were handled by the survivor").containsAll(recovered);
        }
    }

    /** Sends MESSAGES messages with ids fault-0.. from PRODUCERS threads, retrying a failed send as an application would. */
    private static List<Future<?>> produce(Enqueue<String> out, ExecutorService pool, AtomicInteger retries) {
        List<Future<?>> futures = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
            int first = p;
            futures.add(pool.submit(() -> {
                for (int i = first; i < MESSAGES; i += PRODUCERS) {
                    Msg<String> m = Msg.builder("payload-" + i).id("fault-" + i).build();
                    long deadline = System.nanoTime() + DEADLINE.toNanos();
                    while (true) {
                        try {
                            out.send(m);
                            break;
                        } catch (SendException e) {
                            if (System.nanoTime() > deadline) {
                                throw e;
                            }
                            retries.incrementAndGet();
                            Thread.sleep(250);
                        }
                    }
                }
                return null;
            }));
        }
        return futures;
    }

    private static Set<String> drainDeadLetters(Queues queues, String queue) throws InterruptedException {
        Set<String> dead = new HashSet<>();
        try (Dequeue<byte[]> dlq = queues.dequeue(queue + "_deadletter", byte[].class)) {
            Msg<byte[]> m;
            while ((m = dlq.messages().poll(2, TimeUnit.SECONDS)) != null) {
                dead.add(m.id());
                dlq.ack(m);
            }
        }
        return dead;
    }

    private static void assertNothingLost(Map<String, AtomicInteger> handled, Set<String> dead) {
        List<String> lost = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            String id = "fault-" + i;
            if (!handled.containsKey(id) && !dead.contains(id)) {
                lost.add(id);
            }
        }
        assertThat(lost).as("messages neither handled nor dead-lettered").isEmpty();
    }

    private static void report(String scenario, Map<String, AtomicInteger> handled, Set<String> dead, int sendRetries, int held) {
        long twice = handled.values().stream().filter(c -> c.get() > 1).count();
        long extraCalls = handled.values().stream().mapToLong(c -> c.get() - 1L).sum();
        String line = String.format("FAULT TEST (%s): %d messages, %d handled, %d dead-lettered, %d handled more than once "
                + "(%d extra handler calls), %d sends retried by the producer", scenario, MESSAGES, handled.size(), dead.size(),
                twice, extraCalls, sendRetries);
        System.out.println(line);
        System.err.println(line);
    }

    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
