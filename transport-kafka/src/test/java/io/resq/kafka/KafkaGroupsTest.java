package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.testing.TestKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Consumer groups on Kafka: no shared default group, and redeliveries that belong to the group that failed. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaGroupsTest {

    private static String topic(String base) {
        return "groups_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Map<String, Object> config() {
        return Map.of("bootstrap.servers", TestKafka.bootstrapServers());
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return c.getAsBoolean();
    }

    @Test
    void withoutAGroupOrAGroupIdAProcessorFailsAtStartSayingWhatToCall() {
        try (Queues queues = Queues.using(KafkaTransport.create(config()))) {
            String t = topic("nogroup");
            assertThatThrownBy(() -> queues.processor(t, String.class).handler(s -> { }).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no consumer group")
                    .hasMessageContaining("group(")
                    .hasMessageContaining("group.id");
            assertThatThrownBy(() -> queues.dequeue(t, String.class)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no consumer group");
        }
    }

    @Test
    void theConfiguredGroupIdIsUsedWhenNoGroupIsNamed() throws Exception {
        Map<String, Object> config = new HashMap<>(config());
        config.put("group.id", "configured-svc");
        String t = topic("groupid");
        try (Queues queues = Queues.using(KafkaTransport.create(config))) {
            AtomicInteger handled = new AtomicInteger();
            queues.processor(t, String.class).handler(s -> handled.incrementAndGet()).start();
            queues.enqueue(t, String.class).send("x");
            assertThat(await(() -> handled.get() == 1)).isTrue();
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            assertThat(admin.listConsumerGroupOffsets("configured-svc").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS))
                    .as("offsets committed by the configured group").isNotEmpty();
        }
    }

    @Test
    void aGroupCreatedLaterDoesNotReplayAnotherGroupsRedeliveries() throws Exception {
        String t = topic("latecomer");
        int n = 10;
        try (Queues queues = Queues.using(KafkaTransport.create(config()))) {
            Map<String, AtomicInteger> failedByA = new ConcurrentHashMap<>();
            queues.processor(t, String.class).group("a").retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(3)).concurrency(2)
                    .msgHandler(m -> {
                        if (failedByA.computeIfAbsent(m.id(), k -> new AtomicInteger()).getAndIncrement() == 0) {
                            throw new IllegalStateException("a fails once");
                        }
                    }).start();
            Enqueue<String> out = queues.enqueue(t, String.class);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ids.add(out.send(Msg.builder("m" + i).key("k" + i).build()).id());
            }
            assertThat(await(() -> failedByA.size() == n && failedByA.values().stream().allMatch(c -> c.get() == 2)))
                    .as("a handled its redeliveries").isTrue();

            Map<String, AtomicInteger> handledByC = new ConcurrentHashMap<>();
            queues.processor(t, String.class).group("c")
                    .msgHandler(m -> handledByC.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet()).start();
            assertThat(await(() -> handledByC.size() == n)).isTrue();
            Thread.sleep(2000);
            assertThat(handledByC.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(handledByC.values()).as("c sees each original once and none of a's copies")
                    .allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
        }
    }

    @Test
    void retryTopicsOfGroupsWithAnyNameAreLegalAndDistinct() {
        String retry = "orders_retry";
        assertThat(GroupTopics.retryTopic(retry, "billing")).isEqualTo("orders_retry-billing");
        String odd = GroupTopics.retryTopic(retry, "billing team/eu");
        assertThat(odd).matches("[a-zA-Z0-9._-]+").startsWith("orders_retry-billing_team_eu-");
        assertThat(GroupTopics.retryTopic(retry, "billing team/eu")).isEqualTo(odd);
        assertThat(GroupTopics.retryTopic(retry, "billing_team/eu")).isNotEqualTo(odd);
        String longOne = GroupTopics.retryTopic(retry, "g".repeat(400));
        assertThat(longOne.length()).isLessThanOrEqualTo(GroupTopics.MAX_TOPIC_LENGTH);
    }
}
