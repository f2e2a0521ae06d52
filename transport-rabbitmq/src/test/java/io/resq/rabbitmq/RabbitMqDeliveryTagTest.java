package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A delivery from a channel that went down is never settled on the channel that replaced it,
 * where its tag names another message, nor handed out at all when the client dispatches it late;
 * and a receiver whose channel the broker closed consumes again on a new one.
 */
class RabbitMqDeliveryTagTest {

    private static final TestQueueNames QUEUES = new TestQueueNames("tags");

    @AfterAll
    static void deleteQueues() {
        QUEUES.deleteAll();
    }

    @Test
    void aDeliveryFromAChannelThatWentDownIsNeverSettledOnItsReplacement() throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("tags");
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory());
                RabbitReceiver r = (RabbitReceiver) transport.receiver(queue, ReceiverOptions.defaults())) {
            RabbitBroker.sendOne(transport, queue, "first");
            Delivery stale = RabbitBroker.pollOne(r);
            assertThat(stale.id()).isEqualTo("first");
            // A channel error closes the receiver's channel (the broker returns "first" to the queue).
            r.channelForTest().basicAck(999_999, false);
            RabbitBroker.sendOne(transport, queue, "second");
            // The receiver opens a new channel, where the tags start again at 1.
            Delivery again = RabbitBroker.pollOne(r);
            Delivery second = RabbitBroker.pollOne(r);
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

    @Test
    void deliveriesTheClientDispatchesAfterTheirChannelWentDownAreNeverHandedOut() throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("late");
        int messages = 5;
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory());
                RabbitReceiver r = (RabbitReceiver) transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(20));
                Connection admin = RabbitBroker.adminConnection()) {
            // Occupy every thread that dispatches deliveries on the consuming connection, so that
            // deliveries wait in the client's work pool, as they do on a busy connection.
            CountDownLatch release = new CountDownLatch(1);
            int threads = Runtime.getRuntime().availableProcessors(); // the client's default pool size
            CountDownLatch blocked = new CountDownLatch(threads);
            List<Channel> blockers = new ArrayList<>();
            for (int i = 0; i < 2 * threads; i++) { // more than enough, whatever the pool hands to whom
                Channel ch = transport.consumerConnection().createChannel();
                blockers.add(ch);
                String temp = ch.queueDeclare().getQueue();
                ch.basicConsume(temp, true, new DefaultConsumer(ch) {
                    @Override
                    public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body)
                            throws IOException {
                        blocked.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
                try (Channel publish = admin.createChannel()) {
                    publish.basicPublish("", temp, null, new byte[] {0});
                }
            }
            assertThat(blocked.await(10, TimeUnit.SECONDS)).as("dispatch threads occupied").isTrue();
            try {
                for (int i = 0; i < messages; i++) {
                    RabbitBroker.sendOne(transport, queue, "m" + i);
                }
                awaitReady(queue, 0); // all pushed to the receiver's channel, waiting in the work pool
                Thread.sleep(300);
                Channel first = r.channelForTest();
                first.basicAck(999_999, false); // the broker closes it: the messages go back to the queue
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (first.isOpen() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(first.isOpen()).isFalse();
                // The receiver consumes on a new channel, which gets the messages again (tags 1..5 anew).
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while ((r.channelForTest() == first || RabbitBroker.consumerCount(queue) != 1) && System.nanoTime() < deadline) {
                    assertThat(r.poll(1, Duration.ofMillis(50))).isEmpty();
                }
                awaitReady(queue, 0);
                Thread.sleep(300);
            } finally {
                release.countDown();
            }
            // Now the work pool hands over the old channel's deliveries, then the new channel's.
            List<String> handed = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < deadline) {
                for (Delivery d : r.poll(20, Duration.ofMillis(100))) {
                    handed.add(d.id());
                    d.ack();
                }
            }
            Thread.sleep(300);
            assertThat(r.channelForTest().isOpen()).as("the new channel survived every ack (no stale tag sent on it)").isTrue();
            assertThat(handed).as("deliveries handed out: each message once, from the new channel")
                    .containsExactlyInAnyOrder("m0", "m1", "m2", "m3", "m4");
            for (Channel ch : blockers) {
                ch.abort();
            }
        }
        assertThat(readyCount(queue)).as("messages left in the queue once the receiver closed").isZero();
    }

    private static void awaitReady(String queue, int ready) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (readyCount(queue) != ready && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(readyCount(queue)).isEqualTo(ready);
    }

    private static int readyCount(String queue) throws Exception {
        try (Connection c = RabbitBroker.adminConnection(); Channel ch = c.createChannel()) {
            return ch.queueDeclarePassive(queue).getMessageCount();
        }
    }




}
