package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Address;
import com.rabbitmq.client.AddressResolver;
import com.rabbitmq.client.ConnectionFactory;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A list of addresses, or an address resolver, lets connection recovery move to a node that is up:
 * two proxies to the local broker stand in for two nodes, and the one the transport is connected
 * through goes down.
 */
class RabbitMqClusterTest {

    private static final TestQueueNames QUEUES = new TestQueueNames("cluster");

    @AfterAll
    static void deleteQueues() {
        QUEUES.deleteAll();
    }

    @Test
    void recoveryMovesToTheNodeThatIsUp() throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("failover");
        ConnectionFactory factory = RabbitBroker.factory();
        factory.setNetworkRecoveryInterval(200);
        try (TcpProxy a = new TcpProxy(factory.getPort()); TcpProxy b = new TcpProxy(factory.getPort());
                RabbitMqTransport transport = RabbitMqTransport.builder(factory)
                        .addresses(List.of(new Address("127.0.0.1", a.port()), new Address("127.0.0.1", b.port())))
                        .build()) {
            assertThat(transport.health().detail()).contains("127.0.0.1:" + a.port() + ",127.0.0.1:" + b.port());
            try (Receiver r = transport.receiver(queue, ReceiverOptions.defaults())) {
                roundTrip(transport, r, queue, "before");
                assertThat(a.openConnections() + b.openConnections()).isEqualTo(2);
                TcpProxy down = a.openConnections() > 0 ? a : b;
                TcpProxy up = down == a ? b : a;
                down.kill();
                assertThat(await(() -> up.openConnections() == 2 && transport.health().isUp(), Duration.ofSeconds(30)))
                        .as("both connections recovered through the node that is up: %s", transport.health()).isTrue();
                roundTrip(transport, r, queue, "after");
            }
        }
    }

    @Test
    void anAddressResolverIsAskedAgainWhenRecovering() throws Exception {
        RabbitBroker.require();
        String queue = QUEUES.next("resolver");
        ConnectionFactory factory = RabbitBroker.factory();
        factory.setNetworkRecoveryInterval(200);
        try (TcpProxy first = new TcpProxy(factory.getPort()); TcpProxy second = new TcpProxy(factory.getPort())) {
            // Service discovery that knows one node at a time, as DNS would after a failover.
            AtomicReference<TcpProxy> current = new AtomicReference<>(first);
            AtomicInteger asked = new AtomicInteger();
            AddressResolver discovery = () -> {
                asked.incrementAndGet();
                return List.of(new Address("127.0.0.1", current.get().port()));
            };
            try (RabbitMqTransport transport = RabbitMqTransport.builder(factory).addressResolver(discovery).build();
                    Receiver r = transport.receiver(queue, ReceiverOptions.defaults())) {
                roundTrip(transport, r, queue, "through the first");
                assertThat(first.openConnections()).isEqualTo(2);
                int before = asked.get();
                current.set(second);
                first.kill();
                assertThat(await(() -> second.openConnections() == 2 && transport.health().isUp(), Duration.ofSeconds(30)))
                        .as("recovered through the node discovery names now: %s", transport.health()).isTrue();
                assertThat(asked.get()).isGreaterThan(before);
                roundTrip(transport, r, queue, "through the second");
            }
        }
    }

    /**
     * Sends {@code id} and receives it. An earlier message may come first: its ack can be lost
     * with the connection that was cut, and the broker then delivers it again (at-least-once).
     */
    private static void roundTrip(RabbitMqTransport transport, Receiver r, String queue, String id) throws Exception {
        RabbitBroker.sendOne(transport, queue, id);
        Delivery d;
        do {
            d = RabbitBroker.pollOne(r);
            d.ack();
        } while (!d.id().equals(id) && d.deliveryCount() > 1);
        assertThat(d.id()).isEqualTo(id);
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
