package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.SendException;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Delayed messages of many distinct delays, to several queues, go through the fixed set of shared
 * delay levels (no queue per delay or per work queue), and none arrives before its delay.
 */
class RabbitMqDelayTest {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    private static String queueName(String base) {
        String name = "delay_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(name);
        QUEUES.add(name + "_deadletter");
        return name;
    }

    @Test
    void aDelayedSendLongerThanTheLevelsCanHoldIsRefusedBeforeItIsSent() {
        RabbitBroker.require();
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory());
             Queues queues = Queues.using(transport)) {
            assertThat(transport.maxDelay()).isEqualTo(Duration.ofMillis(0xF000_0000L));
            Enqueue<String> out = queues.enqueue("delay_limit_" + UUID.randomUUID().toString().substring(0, 8), String.class);
            assertThatThrownBy(() -> out.send(Msg.builder("p")
                            .deliverAfter(Duration.ofDays(47)).build()))
                    .isInstanceOf(SendException.class).hasMessageContaining("longest delay");
        }
    }

    @Test
    void aQueueNameTheDelayRoutingWouldReadAsAWildcardIsRefusedAtOnce() {
        RabbitBroker.require();
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory())) {
            assertThatThrownBy(() -> transport.sender("orders.*.eu"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("queue 'orders.*.eu' has a '*' between dots")
                    .hasMessageContaining("rename the queue");
            assertThatThrownBy(() -> transport.receiver("orders.#", ReceiverOptions.defaults()))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void jitteredDelaysShareTheFixedLevelsAndNoneArrivesEarly() throws Exception {
        RabbitBroker.requireControl();
        List<String> queues = List.of(queueName("a"), queueName("b"));
        int perQueue = 40;
        Map<String, Long> delayOf = new HashMap<>();
        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        Map<String, Long> lateness = new ConcurrentHashMap<>();
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory())) {
            List<Receiver> receivers = new ArrayList<>();
            for (String queue : queues) {
                receivers.add(transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(2 * perQueue)));
            }
            List<CompletableFuture<Void>> confirms = new ArrayList<>();
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (String queue : queues) {
                var sender = transport.sender(queue);
                for (int i = 0; i < perQueue; i++) {
                    // Like a jittered exponential backoff: a spread of distinct delays, 0.2 s to 4 s.
                    long delay = 200 + random.nextLong(3_800);
                    String id = queue + "-" + i;
                    delayOf.put(id, delay);
                    sentAt.put(id, System.nanoTime());
                    confirms.add(sender.send(List.of(new Outbound(id, null, Map.of(), new byte[] {1}, Duration.ofMillis(delay)))));
                }
            }
            CompletableFuture.allOf(confirms.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);


            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (lateness.size() < delayOf.size() && System.nanoTime() < deadline) {
                for (Receiver r : receivers) {
                    for (Delivery d : r.poll(perQueue, Duration.ofMillis(20))) {
                        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentAt.get(d.id()));
                        lateness.put(d.id(), waited - delayOf.get(d.id()));
                        d.ack();
                    }
                }
            }
            receivers.forEach(Receiver::close);
            assertThat(lateness.keySet()).as("delayed messages that arrived").containsExactlyInAnyOrderElementsOf(delayOf.keySet());

            // After receiving: rabbitmqctl takes a while, and the lateness counts from the send.
            List<String> names = RabbitBroker.queueNames();
            for (String queue : queues) {
                assertThat(names).as("queues made for the delays of %s", queue).noneMatch(n -> n.startsWith(queue + "_delay"));
            }
            assertThat(names.stream().filter(n -> n.startsWith("resq.delay.level.")).count())
                    .as("shared delay level queues").isEqualTo(32);
        }
        long early = lateness.values().stream().filter(l -> l < 0).count();
        long maxLate = lateness.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        System.out.printf("DELAY TEST: %d delayed messages, %d early, lateness max %d ms, mean %.0f ms%n", lateness.size(),
                early, maxLate, lateness.values().stream().mapToLong(Long::longValue).average().orElseThrow());
        assertThat(lateness).as("messages that arrived before their delay (ms late, negative = early)")
                .allSatisfy((id, late) -> assertThat(late).isGreaterThanOrEqualTo(0L));
    }
}
