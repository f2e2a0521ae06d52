package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
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
 * A delivery from a channel that went down is never settled on the channel that replaced it,
 * where its tag names another message.
 */
class RabbitMqDeliveryTagTest {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    private static String queueName(String base) {
        String name = "recovery_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(name);
        QUEUES.add(name + "_deadletter");
        return name;
    }

    @Test
    void aDeliveryFromAChannelThatWentDownIsNeverSettledOnItsReplacement() throws Exception {
        RabbitBroker.require();
        String queue = queueName("tags");
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory());
                RabbitReceiver r = (RabbitReceiver) transport.receiver(queue, ReceiverOptions.defaults())) {
            send(transport, queue, "first");
            Delivery stale = pollOne(r);
            assertThat(stale.id()).isEqualTo("first");
            // A channel error closes the receiver's channel (the broker returns "first" to the queue).
            r.channelForTest().basicAck(999_999, false);
            send(transport, queue, "second");
            // The receiver opens a new channel, where the tags start again at 1.
            Delivery again = pollOne(r);
            Delivery second = pollOne(r);
            assertThat(List.of(again.id(), second.id())).containsExactlyInAnyOrder("first", "second");
            stale.ack(); // its tag names another delivery on the new channel: must not be acked
            Thread.sleep(500);
            assertThat(r.channelForTest().isOpen()).as("the new channel is still open").isTrue();
            r.close();
            try (Receiver check = transport.receiver(queue, ReceiverOptions.defaults())) {
                List<String> left = new java.util.ArrayList<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (System.nanoTime() < deadline) {
                    for (Delivery d : check.poll(10, Duration.ofMillis(100))) {
                        left.add(d.id());
                        d.ack();
                    }
                }
                assertThat(left).as("both messages are still in the queue").containsExactlyInAnyOrder("first", "second");
            }
        }
    }

    private static void send(RabbitMqTransport transport, String queue, String id) throws Exception {
        transport.sender(queue).send(List.of(new Outbound(id, null, Map.of(), new byte[] {1}, Duration.ZERO)))
                .get(10, TimeUnit.SECONDS);
    }


    private static Delivery pollOne(Receiver r) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            List<Delivery> got = r.poll(1, Duration.ofMillis(100));
            if (!got.isEmpty()) {
                return got.get(0);
            }
        }
        throw new AssertionError("no delivery within 15 s");
    }



}
