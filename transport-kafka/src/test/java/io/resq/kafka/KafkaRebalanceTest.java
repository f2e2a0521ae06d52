package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.testing.TestKafka;
import io.resq.testkit.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A rebalance while handlers hold records: the revoked records settle and commit first, nothing runs twice. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaRebalanceTest {

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Await.until(Duration.ofSeconds(60), c);
    }

    @Test
    void aMemberJoiningWhileHandlersHoldRecordsGetsNothingHandledTwice() throws Exception {
        String topic = "rebalance_" + UUID.randomUUID().toString().substring(0, 8);
        int n = 12;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, AtomicInteger> started = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> done = new ConcurrentHashMap<>();
        Map<String, Object> config = Map.of("bootstrap.servers", TestKafka.bootstrapServers());
        try (Queues first = Queues.using(KafkaTransport.create(config));
             Queues second = Queues.using(KafkaTransport.create(config))) {
            first.processor(topic, String.class).group("rebalance").concurrency(4).retry(RetryPolicy.none())
                    .msgHandler(m -> {
                        started.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
                        Thread.sleep(1500);
                        done.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
                    }).start();
            Enqueue<String> out = first.enqueue(topic, String.class);
            for (int i = 0; i < n; i++) {
                out.send(Msg.builder("m" + i).key("k" + i).build());
            }
            assertThat(await(() -> started.size() >= 3)).as("the first member holds records").isTrue();

            // A second member of the group: the first gives up partitions while its handlers run.
            second.processor(topic, String.class).group("rebalance").concurrency(4).retry(RetryPolicy.none())
                    .msgHandler(m -> {
                        started.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
                        done.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
                    }).start();

            assertThat(await(() -> done.size() == n)).as("handled %s of %s", done.size(), n).isTrue();
            Thread.sleep(3000);
            assertThat(started.values()).as("runs per message: %s", started).allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
        }
    }
}
