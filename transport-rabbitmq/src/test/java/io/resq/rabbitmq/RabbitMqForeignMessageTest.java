package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.resq.Dequeue;
import io.resq.EnvelopeMode;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Messages from producers that know nothing of resq (a plain amqp-client publish), and how resq's
 * raw mode maps its metadata onto AMQP properties.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RabbitMqForeignMessageTest {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();
    private RabbitMqTransport transport;
    private Connection admin;

    @BeforeEach
    void open() throws Exception {
        RabbitBroker.require();
        transport = RabbitMqTransport.create(RabbitBroker.factory());
        admin = RabbitBroker.adminConnection();
    }

    @AfterEach
    void close() throws Exception {
        transport.close();
        admin.close();
    }

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    private static String queueName(String base) {
        String name = "foreign_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(name);
        QUEUES.add(name + "_deadletter");
        QUEUES.add(name + "_deadletter_deadletter"); // declared by the dead-letter queue's own reader
        return name;
    }

    private void publishForeign(String queue, AMQP.BasicProperties props, String body) throws Exception {
        try (Channel ch = admin.createChannel()) {
            ch.confirmSelect();
            ch.basicPublish("", queue, true, props, body.getBytes(StandardCharsets.UTF_8));
            ch.waitForConfirmsOrDie(10_000);
        }
    }

    @Test
    void rawModeReadsAForeignMessageWithItsAmqpProperties() throws Exception {
        String queue = queueName("raw");
        Instant sentAt = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        try (Queues queues = Queues.builder(transport).envelopeMode(EnvelopeMode.RAW).build();
                Dequeue<String> in = queues.dequeue(queue, String.class)) {
            publishForeign(queue, new AMQP.BasicProperties.Builder().messageId("ext-1").type("OrderPlaced")
                    .timestamp(Date.from(sentAt)).headers(Map.of("trace", "abc")).build(), "hello");

            Msg<String> m = in.messages().poll(30, TimeUnit.SECONDS);

            assertThat(m).isNotNull();
            assertThat(m.payload()).isEqualTo("hello");
            assertThat(m.id()).isEqualTo("ext-1");
            assertThat(m.category()).isEqualTo("OrderPlaced");
            assertThat(m.dispatchedAt()).isEqualTo(sentAt);
            assertThat(m.attempt()).isEqualTo(1);
            assertThat(m.errors()).isEmpty();
            in.ack(m);
        }
    }

    @Test
    void aForeignMessageWithoutIdKeepsOneIdAcrossRedeliveries() throws Exception {
        String queue = queueName("noid");
        Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
        publishForeign(queue, new AMQP.BasicProperties(), "no id");

        Delivery first = take(r);
        first.release();
        Delivery second = take(r);
        second.ack();

        assertThat(first.id()).startsWith("amqp-").isEqualTo(second.id());
        assertThat(second.deliveryCount()).isEqualTo(2);
        r.close();
    }

    @Test
    void envelopeModeDeadLettersAForeignMessageWith400() throws Exception {
        String queue = queueName("envelope");
        List<String> handled = new ArrayList<>();
        try (Queues queues = Queues.using(transport)) {
            queues.processor(queue, String.class).handler(handled::add).start();
            publishForeign(queue, new AMQP.BasicProperties.Builder().messageId("ext-2").build(), "plain text, not an envelope");

            Msg<byte[]> dead;
            try (Dequeue<byte[]> dlq = queues.dequeue(queue + "_deadletter", byte[].class)) {
                dead = dlq.messages().poll(30, TimeUnit.SECONDS);
                assertThat(dead).isNotNull();
                dlq.ack(dead);
            }
            assertThat(dead.id()).isEqualTo("ext-2");
            assertThat(new String(dead.payload(), StandardCharsets.UTF_8)).isEqualTo("plain text, not an envelope");
            assertThat(dead.errors()).singleElement().satisfies(f -> assertThat(f.statusCode()).isEqualTo(400));
            assertThat(handled).isEmpty();
        }
    }

    @Test
    void rawModeWritesResqMetadataAsAmqpProperties() throws Exception {
        String queue = queueName("out");
        try (Queues queues = Queues.builder(transport).envelopeMode(EnvelopeMode.RAW).build()) {
            Msg<String> sent = queues.enqueue(queue, String.class)
                    .send(Msg.builder("body").category("OrderPlaced").key("customer-7").attribute("trace", "t1").build());

            GetResponse got;
            try (Channel ch = admin.createChannel()) {
                got = ch.basicGet(queue, true);
            }

            assertThat(got).isNotNull();
            assertThat(new String(got.getBody(), StandardCharsets.UTF_8)).isEqualTo("body");
            AMQP.BasicProperties p = got.getProps();
            assertThat(p.getMessageId()).isEqualTo(sent.id());
            assertThat(p.getType()).isEqualTo("OrderPlaced");
            assertThat(p.getTimestamp().toInstant()).isEqualTo(sent.dispatchedAt().truncatedTo(ChronoUnit.SECONDS));
            assertThat(p.getDeliveryMode()).as("persistent").isEqualTo(2);
            assertThat(p.getHeaders().get("resq-key").toString()).isEqualTo("customer-7");
            assertThat(p.getHeaders().get("resq-attr-trace").toString()).isEqualTo("t1");
        }
    }

    private static Delivery take(Receiver r) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            List<Delivery> got = r.poll(1, Duration.ofMillis(200));
            if (!got.isEmpty()) {
                return got.get(0);
            }
        }
        throw new AssertionError("nothing arrived within 30 s");
    }
}
