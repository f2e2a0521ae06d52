package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * After the broker cancelled a receiver's consumer (a deleted queue, a quorum queue's leader that
 * moved) and the receiver subscribed again, a connection recovery leaves exactly one consumer.
 */
class RabbitMqConsumerRecoveryTest {

    private static final TestQueueNames QUEUES = new TestQueueNames("recovery");

    @AfterAll
    static void deleteQueues() {
        QUEUES.deleteAll();
    }

    @Test
    void aReceiverHasOneConsumerAfterABrokerCancelAndAConnectionRecovery() throws Exception {
        RabbitBroker.requireControl();
        String queue = QUEUES.next("cancel");
        String name = "resq-cancel-" + UUID.randomUUID().toString().substring(0, 8);
        try (RabbitMqTransport transport = RabbitMqTransport.builder(RabbitBroker.factory()).connectionName(name).build();
                Receiver r = transport.receiver(queue, ReceiverOptions.defaults())) {
            assertThat(RabbitBroker.consumerCount(queue)).isEqualTo(1);
            // The broker cancels the consumer (as when a queue is deleted or a quorum queue's leader
            // moves); the receiver declares the queue again and consumes anew.
            RabbitBroker.deleteQueues(List.of(queue));
            assertThat(await(() -> {
                pollQuietly(r);
                return transport.health().isUp() && consumers(queue) == 1;
            }, Duration.ofSeconds(20))).as("re-subscribed after the cancel: %s", transport.health()).isTrue();

            assertThat(RabbitBroker.closeConnectionsNamed(name)).isEqualTo(2);
            assertThat(await(() -> {
                pollQuietly(r);
                return transport.health().isUp() && consumers(queue) >= 1;
            }, Duration.ofSeconds(30))).as("recovered: %s", transport.health()).isTrue();
            Thread.sleep(1_000); // recovery restores consumers one after the other
            assertThat(RabbitBroker.consumerCount(queue)).as("consumers of the one receiver").isEqualTo(1);
            roundTrip(transport, r, queue, "after recovery");
        }
    }

    private static void roundTrip(RabbitMqTransport transport, Receiver r, String queue, String id) throws Exception {
        RabbitBroker.sendOne(transport, queue, id);
        Delivery d = RabbitBroker.pollOne(r);
        assertThat(d.id()).isEqualTo(id);
        d.ack();
    }

    private static void pollQuietly(Receiver r) {
        try {
            r.poll(1, Duration.ofMillis(50)).forEach(Delivery::release);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int consumers(String queue) {
        try {
            return RabbitBroker.consumerCount(queue);
        } catch (Exception e) {
            return -1;
        }
    }

    private static boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(100);
        }
        return condition.getAsBoolean();
    }
}
