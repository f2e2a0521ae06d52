package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.resq.Enqueue;
import io.resq.Queues;
import io.resq.ResqException;
import io.resq.SendException;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a user gets wrong, and what the broker does behind the transport's back. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RabbitMqBadInputTest {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    private static String queueName(String base) {
        String name = "badinput_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(name);
        return name;
    }

    private RabbitMqTransport transport(RabbitMqTransport.Builder builder) {
        RabbitBroker.require();
        RabbitMqTransport t = builder.build();
        toClose.add(t);
        return t;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void unreachableBrokerFailsFastNamingTheAddressAndTheCauseButNotThePassword() throws Exception {
        int port = freePort();
        long start = System.nanoTime();

        assertThatThrownBy(() -> RabbitMqTransport.create("amqp://app:s3cret@127.0.0.1:" + port + "/%2F"))
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("127.0.0.1:" + port)
                .hasMessageContaining("Connection refused")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret"));

        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost("127.0.0.1");
        factory.setPort(port);
        factory.setPassword("s3cret");
        assertThatThrownBy(() -> RabbitMqTransport.create(factory))
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("127.0.0.1:" + port)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void wrongCredentialsFailNamingTheBroker() {
        RabbitBroker.require();
        ConnectionFactory f = RabbitBroker.factory();
        f.setPassword("not-the-password");

        assertThatThrownBy(() -> RabbitMqTransport.create(f))
                .isInstanceOf(ResqException.class)
                .hasMessageContaining(f.getHost() + ":" + f.getPort())
                .hasMessageContaining("ACCESS_REFUSED")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("not-the-password"));
    }

    @Test
    void invalidUriIsRefusedWithoutEchoingThePassword() {
        assertThatThrownBy(() -> RabbitMqTransport.create("ftp://app:s3cret@host/vh"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a valid AMQP URI")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret"));
    }

    @Test
    void builderValidatesItsArguments() {
        RabbitMqTransport.Builder b = RabbitMqTransport.builder(new ConnectionFactory());
        assertThatThrownBy(() -> b.maxBodySize(0)).hasMessage("maxBodySize must be >= 1, was 0");
        assertThatThrownBy(() -> b.publisherChannels(0)).hasMessage("publisherChannels must be >= 1, was 0");
        assertThatThrownBy(() -> b.confirmTimeout(Duration.ZERO)).hasMessageContaining("confirmTimeout must be > 0");
        assertThatThrownBy(() -> b.queueType(null)).hasMessage("queueType must not be null");
    }

    @Test
    void bodyOverTheLimitIsRefusedBeforeTheWireWithASendException() {
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()).maxBodySize(1024));
        String queue = queueName("limit");
        Queues queues = Queues.using(t);
        toClose.add(queues);
        Enqueue<String> out = queues.enqueue(queue, String.class);

        assertThatThrownBy(() -> out.send("x".repeat(2000)))
                .isInstanceOf(SendException.class)
                .hasMessageContaining("1024");
        assertThatThrownBy(() -> t.sender(queue).send(Outbound.of("big", new byte[1025])).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1025 bytes")
                .hasMessageContaining("limit of 1024 bytes")
                .hasMessageContaining("127.0.0.1");
    }

    @Test
    void defaultLimitFollowsTheServerVersion() {
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()));
        assertThat(t.maxBodySize()).isIn(RabbitMqTransport.DEFAULT_LIMIT_3X, RabbitMqTransport.DEFAULT_LIMIT_4X);
        assertThat(RabbitMqTransport.defaultLimit("3.10.8")).isEqualTo(128 * 1024 * 1024);
        assertThat(RabbitMqTransport.defaultLimit("4.1.0")).isEqualTo(16 * 1024 * 1024);
        assertThat(RabbitMqTransport.defaultLimit("garbage")).isEqualTo(16 * 1024 * 1024);
    }

    @Test
    void everythingFailsClearlyAfterClose() throws Exception {
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()));
        String queue = queueName("closed");
        Sender sender = t.sender(queue);
        Receiver receiver = t.receiver(queue, ReceiverOptions.defaults());
        sender.send(Outbound.of("one", new byte[] {1})).get(10, TimeUnit.SECONDS);
        Delivery d = poll(receiver, 1).get(0);

        t.close();
        t.close(); // idempotent

        assertThat(t.health().isUp()).isFalse();
        assertThat(t.health().detail()).contains("closed").doesNotContain("guest:");
        assertThatThrownBy(() -> sender.send(Outbound.of("x", new byte[] {1})).get(10, TimeUnit.SECONDS))
                .cause().isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> t.sender(queue)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> t.receiver(queue, ReceiverOptions.defaults()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> receiver.poll(1, Duration.ofMillis(10)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(d::ack).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");

        // The unacked message went back to the queue when the transport closed.
        RabbitMqTransport again = transport(RabbitMqTransport.builder(RabbitBroker.factory()));
        List<Delivery> back = poll(again.receiver(queue, ReceiverOptions.defaults()), 1);
        assertThat(back).extracting(Delivery::id).containsExactly("one");
        assertThat(back.get(0).deliveryCount()).isEqualTo(2);
        back.get(0).ack();
    }

    @Test
    void missingQueueWithDeclaringOffIsAClearError() {
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()).declareQueues(false));
        String queue = queueName("missing");

        assertThatThrownBy(() -> t.sender(queue))
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("queue '" + queue + "' does not exist")
                .hasMessageContaining("declareQueues(false)")
                .hasMessageContaining("127.0.0.1");
        assertThatThrownBy(() -> t.receiver(queue, ReceiverOptions.defaults()))
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("does not exist");
        assertThat(t.health().isUp()).as("a bad queue name does not break the transport").isTrue();
    }

    @Test
    void existingQueueWithOtherArgumentsIsUsedAsItIs() throws Exception {
        String queue = queueName("existing");
        RabbitBroker.require();
        try (Connection admin = RabbitBroker.adminConnection(); Channel ch = admin.createChannel()) {
            ch.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "classic", "x-max-length", 10_000));
        }
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()).queueType(QueueType.QUORUM));

        Receiver r = t.receiver(queue, ReceiverOptions.defaults());
        t.sender(queue).send(Outbound.of("kept", new byte[] {1})).get(10, TimeUnit.SECONDS);

        assertThat(poll(r, 1)).extracting(Delivery::id).containsExactly("kept");
    }

    @Test
    void aPublishTheBrokerNacksFailsTheSend() throws Exception {
        String queue = queueName("full");
        RabbitBroker.require();
        try (Connection admin = RabbitBroker.adminConnection(); Channel ch = admin.createChannel()) {
            // A full queue that refuses more: the broker nacks the publish.
            ch.queueDeclare(queue, true, false, false, Map.of("x-max-length", 1, "x-overflow", "reject-publish"));
        }
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()));
        Sender sender = t.sender(queue);
        sender.send(Outbound.of("fits", new byte[] {1})).get(10, TimeUnit.SECONDS);

        assertThatThrownBy(() -> sender.send(Outbound.of("refused", new byte[] {2})).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("refused")
                .hasMessageContaining("basic.nack")
                .hasMessageContaining(queue);
        Queues queues = Queues.using(t);
        toClose.add(queues);
        assertThatThrownBy(() -> queues.enqueue(queue, String.class).send("also refused"))
                .isInstanceOf(SendException.class)
                .hasMessageContaining("basic.nack");
    }

    @Test
    void deletedQueueIsReportedByHealthAndConsumingResumesOnceItIsBack() throws Exception {
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()));
        String queue = queueName("deleted");
        Sender sender = t.sender(queue);
        Receiver r = t.receiver(queue, ReceiverOptions.defaults());
        sender.send(Outbound.of("before", new byte[] {1})).get(10, TimeUnit.SECONDS);
        poll(r, 1).forEach(Delivery::ack);

        RabbitBroker.deleteQueues(List.of(queue));

        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> !t.health().isUp());
        assertThat(t.health().detail()).contains(queue).contains("cancelled");

        // The first send after the deletion is unroutable and fails clearly; the sender then declares the queue again.
        assertThatThrownBy(() -> sender.send(Outbound.of("lost?", new byte[] {2})).get(10, TimeUnit.SECONDS))
                .cause().hasMessageContaining("unroutable").hasMessageContaining(queue);
        sender.send(Outbound.of("after", new byte[] {3})).get(10, TimeUnit.SECONDS);

        List<Delivery> got = poll(r, 1);
        assertThat(got).extracting(Delivery::id).containsExactly("after");
        got.forEach(Delivery::ack);
        assertThat(t.health().isUp()).as("health after re-subscribing: %s", t.health()).isTrue();
    }

    @Test
    void receiverArgumentsAreValidated() throws Exception {
        RabbitMqTransport t = transport(RabbitMqTransport.builder(RabbitBroker.factory()));
        Receiver r = t.receiver(queueName("args"), ReceiverOptions.defaults());
        assertThatThrownBy(() -> r.poll(0, Duration.ZERO)).hasMessage("max must be >= 1, was 0");
        assertThatThrownBy(() -> t.sender(" ")).hasMessage("queue must not be blank");
    }

    private static List<Delivery> poll(Receiver r, int n) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(200)));
        }
        return got;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
