package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A message the broker gives up on is dead-lettered into {@code <queue>_deadletter}, never
 * dropped. A policy's {@code delivery-limit} stands in for RabbitMQ 4.0–4.2's default limit of 20
 * returns on quorum queues (the local broker is 3.x, which has none): releases count as returns there.
 */
class RabbitMqDeadLetteringTest {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    private static String queueName(String base) {
        String name = "dlx_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(name);
        QUEUES.add(name + "_deadletter");
        return name;
    }

    @Test
    void aMessageReleasedPastTheDeliveryLimitLandsInTheDeadLetterQueue() throws Exception {
        RabbitBroker.requireControl();
        String queue = queueName("limit");
        String policy = "resq-test-" + queue;
        RabbitBroker.setPolicy(policy, "^" + queue + "$", "{\"delivery-limit\":2}");
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory())) {
            byte[] body = "released again and again".getBytes(StandardCharsets.UTF_8);
            transport.sender(queue).send(List.of(new Outbound("m-limit", "k", Map.of("h", "v"), body, Duration.ZERO)))
                    .get(10, TimeUnit.SECONDS);
            int deliveries = 0;
            try (Receiver r = transport.receiver(queue, ReceiverOptions.defaults())) {
                List<Delivery> got;
                // Released as on a circuit pause or a close; the limit of 2 returns is passed at the third.
                while (!(got = pollOne(r, Duration.ofSeconds(3))).isEmpty()) {
                    deliveries++;
                    assertThat(deliveries).as("deliveries of a message the broker should have given up on").isLessThan(10);
                    got.get(0).release();
                }
            }
            assertThat(deliveries).isEqualTo(3);
            try (Receiver dead = transport.receiver(queue + "_deadletter", ReceiverOptions.defaults())) {
                List<Delivery> got = pollOne(dead, Duration.ofSeconds(10));
                assertThat(got).as("the message the broker gave up on, in the dead-letter queue").hasSize(1);
                assertThat(got.get(0).id()).isEqualTo("m-limit");
                assertThat(got.get(0).key()).isEqualTo("k");
                assertThat(got.get(0).headers()).containsEntry("h", "v");
                assertThat(got.get(0).body()).isEqualTo(body);
                got.get(0).ack();
            }
        } finally {
            RabbitBroker.clearPolicy(policy);
        }
    }

    @Test
    void quorumQueuesDeadLetterAtLeastOnceIntoTheirDeadLetterQueue() throws Exception {
        RabbitBroker.requireControl();
        String queue = queueName("args");
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory())) {
            transport.sender(queue);
            String args = RabbitBroker.queueArguments(queue);
            assertThat(args).contains("x-dead-letter-routing-key", queue + "_deadletter")
                    .contains("x-dead-letter-strategy", "at-least-once")
                    .contains("x-overflow", "reject-publish");
            assertThat(RabbitBroker.queueArguments(queue + "_deadletter")).doesNotContain("x-dead-letter");
        }
    }

    @Test
    void theAcquiredCountOfNewerBrokersIsTheDeliveryCount() throws Exception {
        RabbitBroker.require();
        String queue = queueName("acquired");
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory());
                Connection admin = RabbitBroker.adminConnection();
                Channel ch = admin.createChannel()) {
            transport.sender(queue);
            // RabbitMQ 4.3+ counts every earlier delivery in x-acquired-count and no longer raises
            // x-delivery-count for a release; this is what such a broker hands out after 6 releases.
            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().messageId("m-acquired")
                    .headers(Map.of("x-acquired-count", 6L)).build();
            ch.basicPublish("", queue, props, new byte[] {1});
            try (Receiver r = transport.receiver(queue, ReceiverOptions.defaults())) {
                List<Delivery> got = pollOne(r, Duration.ofSeconds(10));
                assertThat(got).hasSize(1);
                assertThat(got.get(0).deliveryCount()).isEqualTo(7);
                got.get(0).ack();
            }
        }
    }

    private static List<Delivery> pollOne(Receiver r, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            List<Delivery> got = r.poll(1, Duration.ofMillis(200));
            if (!got.isEmpty()) {
                return got;
            }
        }
        return List.of();
    }
}
