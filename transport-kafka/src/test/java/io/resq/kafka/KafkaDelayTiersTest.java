package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A long redelivery delay does not hold back a shorter one behind it: each delay tier has its own retry topic. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaDelayTiersTest {

    @Test
    void aShortDelayIsNotHeldBackByALongerOneSentBeforeIt() throws Exception {
        String topic = "tiers_" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            // One partition: without tiers both copies would share one retry-topic partition.
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        try (KafkaTransport transport = KafkaTransport.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));
             Receiver receiver = transport.receiver(topic, ReceiverOptions.group("g"))) {
            byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
            transport.sender(topic).send(List.of(
                    new Outbound("long", "k1", Map.of(), body, Duration.ofMinutes(10), "g"),
                    new Outbound("short", "k2", Map.of(), body, Duration.ofMillis(500), "g"),
                    new Outbound("middle", "k3", Map.of(), body, Duration.ofSeconds(12), "g"))).get(30, TimeUnit.SECONDS);

            List<String> got = new ArrayList<>();
            long start = System.nanoTime();
            long until = start + TimeUnit.SECONDS.toNanos(40);
            while (got.size() < 2 && System.nanoTime() < until) {
                for (Delivery d : receiver.poll(10, Duration.ofMillis(200))) {
                    got.add(d.id());
                    d.ack();
                }
            }
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(got).as("after %d ms", tookMs).containsExactly("short", "middle");
            assertThat(tookMs).as("12 s is the longest delay that should be waited for").isLessThan(35_000);
        }
    }

    @Test
    void withTopicsProvisionedByOthersAMissingTierFallsBackToTheBaseTopic() throws Exception {
        String topic = "tiers_own_" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            // What an operator made: the topic and its base retry topics, no tier topics.
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1), new NewTopic(topic + "_retry", 1, (short) 1),
                    new NewTopic(topic + "_retry-g", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            try (KafkaTransport transport = KafkaTransport.builder(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))
                    .autoCreateTopics(false).build();
                 Receiver receiver = transport.receiver(topic, ReceiverOptions.group("g"))) {
                transport.sender(topic).send(List.of(new Outbound("later", "k", Map.of(), "{}".getBytes(StandardCharsets.UTF_8),
                        Duration.ofSeconds(11), "g"))).get(30, TimeUnit.SECONDS);

                List<String> got = new ArrayList<>();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
                while (got.isEmpty() && System.nanoTime() < until) {
                    for (Delivery d : receiver.poll(10, Duration.ofMillis(200))) {
                        got.add(d.id());
                        d.ack();
                    }
                }
                assertThat(got).containsExactly("later");
            }
            assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).as("nothing created")
                    .doesNotContain(topic + "_retry-g-10s", topic + "_retry-g-5m", topic + "_retry-10s");
        }
    }

    @Test
    void eachDelayGoesToTheTierThatBoundsHowLongItCanBeHeldBack() {
        assertThat(DelayTiers.topicFor("t_retry-g", 0)).isEqualTo("t_retry-g");
        assertThat(DelayTiers.topicFor("t_retry-g", 9_999)).isEqualTo("t_retry-g");
        assertThat(DelayTiers.topicFor("t_retry-g", 10_000)).isEqualTo("t_retry-g-10s");
        assertThat(DelayTiers.topicFor("t_retry-g", 299_999)).isEqualTo("t_retry-g-10s");
        assertThat(DelayTiers.topicFor("t_retry-g", 300_000)).isEqualTo("t_retry-g-5m");
        assertThat(DelayTiers.all("t_retry-g")).containsExactly("t_retry-g", "t_retry-g-10s", "t_retry-g-5m");
    }
}
