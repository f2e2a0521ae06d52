package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.testing.TestKafka;
import io.resq.testkit.Await;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
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
        return Await.until(Duration.ofSeconds(60), c);
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
    void theConfiguredGroupIdOwnsTheRedeliveriesAndIsNamedOnTheDeadLetter() throws Exception {
        Map<String, Object> config = new HashMap<>(config());
        config.put("group.id", "configured-billing");
        String t = topic("groupidcopies");
        try (Queues queues = Queues.using(KafkaTransport.create(config))) {
            queues.processor(t, String.class).retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(2))
                    .handler(s -> {
                        throw new IllegalStateException("always");
                    }).start();
            queues.enqueue(t, String.class).send("x");
            try (var dead = queues.dequeue(t + "_deadletter", String.class, "dlq-reader")) {
                var m = dead.messages().poll(60, TimeUnit.SECONDS);
                assertThat(m).isNotNull();
                assertThat(m.attributes()).containsEntry("resq-group", "configured-billing");
                assertThat(m.errors()).hasSize(2);
                dead.ack(m);
            }
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
        assertThat(DelayTiers.topicFor(longOne, Long.MAX_VALUE).length()).isLessThanOrEqualTo(GroupTopics.MAX_TOPIC_LENGTH);
    }
}
