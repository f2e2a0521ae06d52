package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Command;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.TrafficListener;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Acks in delivery order go to the broker together, as one {@code basic.ack} with
 * {@code multiple=true}, and never settle a delivery that is still being handled; held-back acks
 * go out at the next poll and at close, so nothing acked comes back.
 */
class RabbitMqAckCoalescingTest {

    private static final TestQueueNames QUEUES = new TestQueueNames("acks");

    @AfterAll
    static void deleteQueues() {
        QUEUES.deleteAll();
    }

    /** The {@code basic.ack} frames a connection of the factory writes. */
    private static final class Acks implements TrafficListener {
        final List<AMQP.Basic.Ack> sent = new CopyOnWriteArrayList<>();

        @Override
        public void write(Command command) {
            if (command.getMethod() instanceof AMQP.Basic.Ack ack) {
                sent.add(ack);
            }
        }

        @Override
        public void read(Command command) {
        }
    }

    private static void send(RabbitMqTransport transport, String queue, int n) throws Exception {
        List<Outbound> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batch.add(new Outbound("m" + i, null, Map.of(), new byte[] {1}, Duration.ZERO));
        }
        transport.sender(queue).send(batch).get(30, TimeUnit.SECONDS);
    }

    private static List<Delivery> take(Receiver r, int n) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(100)));
        }
        assertThat(got).as("deliveries within 15 s").hasSize(n);
        return got;
    }

    /** The ids a fresh receiver gets from {@code queue} within {@code millis}, acking each. */
    private static List<String> leftIn(RabbitMqTransport transport, String queue, long millis) throws InterruptedException {
        List<String> left = new ArrayList<>();
        try (Receiver check = transport.receiver(queue, ReceiverOptions.defaults())) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            while (System.nanoTime() < deadline) {
                for (Delivery d : check.poll(10, Duration.ofMillis(100))) {
                    left.add(d.id());
                    d.ack();
                }
            }
        }
        return left;
    }

    private static int readyIn(String queue) throws Exception {
        try (Connection c = RabbitBroker.adminConnection(); Channel ch = c.createChannel()) {
            return ch.queueDeclarePassive(queue).getMessageCount();
        }
    }

    @Test
    void acksInDeliveryOrderGoOutTogether() throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("order");
        int n = 200;
        Acks acks = new Acks();
        ConnectionFactory factory = RabbitBroker.factory();
        factory.setTrafficListener(acks);
        try (RabbitMqTransport transport = RabbitMqTransport.create(factory)) {
            send(transport, queue, n);
            try (Receiver r = transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(40))) {
                for (int taken = 0; taken < n; ) {
                    List<Delivery> batch = take(r, Math.min(20, n - taken));
                    batch.forEach(Delivery::ack);
                    taken += batch.size();
                }
            }
            // One frame per ten acks at a prefetch of 40 (a quarter), not one per message.
            assertThat(acks.sent).as("basic.ack frames for %d in-order acks", n).hasSizeLessThanOrEqualTo(n / 10 + 10);
            assertThat(acks.sent).anyMatch(AMQP.Basic.Ack::getMultiple);
            assertThat(leftIn(transport, queue, 1_000)).as("nothing acked comes back").isEmpty();
        }
    }

    @Test
    void anAckAboveADeliveryStillBeingHandledGoesOutAloneAndAReleaseInBetweenComesBack() throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("gaps");
        Acks acks = new Acks();
        ConnectionFactory factory = RabbitBroker.factory();
        factory.setTrafficListener(acks);
        try (RabbitMqTransport transport = RabbitMqTransport.create(factory);
                RabbitReceiver r = (RabbitReceiver) transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(40))) {
            send(transport, queue, 4);
            List<Delivery> got = take(r, 4);
            got.get(3).ack(); // m3 while m0..m2 are unsettled: on its own, at once, never a multiple ack over them
            assertThat(acks.sent).singleElement().satisfies(a -> assertThat(a.getMultiple()).isFalse());
            got.get(1).release(); // m1 back to the queue
            got.get(0).ack(); // held back: m0 and, after m1's release, nothing unsettled below m2
            got.get(2).ack();
            List<Delivery> again = take(r, 1); // this poll sends the held-back acks first
            assertThat(again.get(0).id()).isEqualTo("m1");
            again.get(0).ack();
            assertThat(r.channelForTest().isOpen()).as("no ack the broker refused").isTrue();
            r.close();
            assertThat(acks.sent.stream().filter(AMQP.Basic.Ack::getMultiple))
                    .as("multiple acks only ever end at a delivery acked here")
                    .allSatisfy(a -> assertThat(a.getDeliveryTag()).isIn(1L, 3L, 5L));
            assertThat(leftIn(transport, queue, 1_000)).as("every message settled once").isEmpty();
        }
    }

    @Test
    void acksHeldBackWhenTheChannelDropsAreNeverSentOnItsReplacement() throws Exception {
        RabbitBroker.require();
        acksHeldBackWhenTheChannelGoesDown(RabbitMqTransport.create(RabbitBroker.factory()),
                // A channel error (an unknown tag) makes the broker close the channel; the receiver opens a new one.
                r -> r.channelForTest().basicAck(999_999, false));
    }

    @Test
    void acksHeldBackWhenTheConnectionDropsAreNeverSentAfterItsRecovery() throws Exception {
        RabbitBroker.requireControl();
        String name = "resq-acks-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        acksHeldBackWhenTheChannelGoesDown(RabbitMqTransport.builder(RabbitBroker.factory()).connectionName(name).build(),
                // The broker drops the connections; the client recovers them, the same channel object on a new channel.
                r -> assertThat(RabbitBroker.closeConnectionsNamed(name)).isEqualTo(2));
    }

    private interface ChannelDrop {
        void drop(RabbitReceiver r) throws Exception;
    }

    private void acksHeldBackWhenTheChannelGoesDown(RabbitMqTransport t, ChannelDrop drop) throws Exception {
        String queue = QUEUES.next("dropped");
        try (RabbitMqTransport transport = t;
                RabbitReceiver r = (RabbitReceiver) transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(40))) {
            send(transport, queue, 6);
            List<Delivery> got = take(r, 6);
            got.subList(0, 3).forEach(Delivery::ack); // held back, unless the timer sends them first
            drop.drop(r); // the broker puts the unacked messages back
            // The receiver consumes again, where tags name other messages: an ack held back from before, sent
            // there, would settle a message not handled yet, or make the broker close the channel again.
            List<String> again = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (!again.containsAll(List.of("m3", "m4", "m5")) && System.nanoTime() < deadline) {
                for (Delivery d : pollQuietly(r)) {
                    again.add(d.id());
                    d.ack();
                }
            }
            assertThat(again).as("the unacked messages came back").contains("m3", "m4", "m5").doesNotHaveDuplicates();
            assertThat(again).as("and only messages that were delivered before").isSubsetOf("m0", "m1", "m2", "m3", "m4", "m5");
            r.poll(1, Duration.ofMillis(10)); // sends the acks held back on the new channel
            Thread.sleep(300);
            assertThat(r.channelForTest().isOpen()).as("no ack the broker refused on the new channel").isTrue();
            r.close();
            assertThat(leftIn(transport, queue, 1_000)).as("every message settled").isEmpty();
        }
    }

    /** A poll that counts a receiver still recovering its connection as nothing received yet. */
    private static List<Delivery> pollQuietly(Receiver r) throws InterruptedException {
        try {
            return r.poll(10, Duration.ofMillis(100));
        } catch (RuntimeException recovering) {
            Thread.sleep(100);
            return List.of();
        }
    }

    @Test
    void heldBackAcksGoOutAtTheNextPollAndAtClose() throws Exception {
        heldBackAcksGoOut(false);
    }

    @Test
    void heldBackAcksGoOutWithinTheFlushIntervalWhenNothingPolls() throws Exception {
        heldBackAcksGoOut(true);
    }

    private void heldBackAcksGoOut(boolean viaTimer) throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("flush");
        try (RabbitMqTransport transport = RabbitMqTransport.create(RabbitBroker.factory())) {
            send(transport, queue, 6);
            RabbitReceiver r = (RabbitReceiver) transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(40));
            List<Delivery> got = take(r, 6);
            got.subList(0, 3).forEach(Delivery::ack); // fewer than a batch: held back
            if (viaTimer) {
                Thread.sleep(RabbitMqTransport.ACK_FLUSH_MILLIS * 3); // no poll: the transport's timer sends them
            } else {
                r.poll(1, Duration.ofMillis(10)); // sends them
            }
            // Dropping the channel without a close hands back whatever is unacked: m3..m5, not m0..m2.
            r.channelForTest().abort();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (readyIn(queue) < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(readyIn(queue)).as("messages back in the queue after the channel dropped").isEqualTo(3);
            r.close();

            Receiver second = transport.receiver(queue, ReceiverOptions.defaults().withPrefetch(40));
            List<Delivery> rest = take(second, 3);
            assertThat(rest).extracting(Delivery::id).containsExactlyInAnyOrder("m3", "m4", "m5");
            rest.forEach(Delivery::ack); // held back until close
            second.close();
            assertThat(leftIn(transport, queue, 1_000)).as("acks held back went out at close").isEmpty();
        }
    }
}
