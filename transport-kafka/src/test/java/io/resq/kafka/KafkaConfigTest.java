package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Queues;
import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Outbound;
import io.resq.testkit.Await;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Client configuration that peers accept, resq accepts; the topics it creates are sized like the main topic. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaConfigTest {

    private static String topic(String base) {
        return "config_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Map<String, Object> config(Object... pairs) {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", TestKafka.bootstrapServers());
        for (int i = 0; i < pairs.length; i += 2) {
            c.put((String) pairs[i], pairs[i + 1]);
        }
        return c;
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Await.until(Duration.ofSeconds(60), c);
    }

    @Test
    void aLongerRequestTimeoutStretchesTheDeliveryTimeoutInsteadOfFailingCreate() {
        try (Queues queues = Queues.using(KafkaTransport.create(config("request.timeout.ms", 30_000)))) {
            assertThat(queues.enqueue(topic("timeout"), String.class).send("x").id()).isNotBlank();
        }
    }

    @Test
    void aTransactionalIdIsRefusedWithAMessageThatSaysWhatToDo() {
        assertThatThrownBy(() -> KafkaTransport.create(config("transactional.id", "tx-1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("transactional.id")
                .hasMessageContaining("remove");
    }

    @Test
    void retryTopicsGetTheMainTopicsPartitionCount() throws Exception {
        String t = topic("mirror");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(t, 5, (short) 1))).all().get(30, TimeUnit.SECONDS);
            try (KafkaTransport transport = KafkaTransport.create(config())) {
                transport.receiver(t, io.resq.spi.ReceiverOptions.group("billing")).close();
                Map<String, TopicDescription> d = admin.describeTopics(List.of(t + "_retry", t + "_retry-billing"))
                        .allTopicNames().get(30, TimeUnit.SECONDS);
                assertThat(d.values()).allSatisfy(td -> assertThat(td.partitions()).hasSize(5));
            }
        }
    }

    @Test
    void receiversSharingOneGroupInstanceIdDoNotFenceEachOther() throws Exception {
        String t = topic("static");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(t, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        try (Queues queues = Queues.using(KafkaTransport.create(config("group.instance.id", "svc-1", "session.timeout.ms", 10_000)))) {
            Set<String> handled = ConcurrentHashMap.newKeySet();
            queues.processor(t, String.class).group("static").handler(handled::add).start();
            queues.processor(t, String.class).group("static").handler(handled::add).start();
            var out = queues.enqueue(t, String.class);
            for (int i = 0; i < 20; i++) {
                out.send(io.resq.Msg.builder("m" + i).key("k" + i).build());
            }
            assertThat(await(() -> handled.size() == 20)).as("handled %s of 20", handled.size()).isTrue();
            Thread.sleep(3000);
            assertThat(queues.health().transport().isUp()).as("no receiver fenced: %s", queues.health().transport().detail()).isTrue();
        }
    }

    @Test
    void aDelayNotShorterThanTheRetryTopicsRetentionIsRefusedNotLost() throws Exception {
        String t = topic("retention");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(t, 1, (short) 1),
                    new NewTopic(t + "_retry-g", 1, (short) 1).configs(Map.of("retention.ms", "3000")))).all().get(30, TimeUnit.SECONDS);
        }
        try (KafkaTransport transport = KafkaTransport.create(config())) {
            var sender = transport.sender(t);
            Outbound copy = Outbound.of("late", new byte[] {1}).withGroup("g");
            assertThatThrownBy(() -> sender.send(copy.withDelay(java.time.Duration.ofSeconds(5))).get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(io.resq.ResqException.class)
                    .hasMessageContaining("retention.ms 3000")
                    .hasMessageContaining(t + "_retry-g");
            sender.send(copy.withDelay(java.time.Duration.ofSeconds(1))).get(30, TimeUnit.SECONDS);
        }
    }
}
