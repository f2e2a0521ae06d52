package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.EnvelopeMode;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/** What is particular to SQS: foreign messages, attribute limits, the visibility heartbeat, FIFO routes. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SqsSpecificsTest {

    private SqsClient client;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void open() {
        client = ElasticMq.client();
    }

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        client.close();
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(c);
        return c;
    }

    private static String queueName(String base) {
        return "sqs_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    private static List<Delivery> receive(Receiver r, int n, Duration within) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + within.toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(200)));
        }
        return got;
    }

    private String sendForeign(String queue, String body, Map<String, String> attributes) {
        String url = client.getQueueUrl(r -> r.queueName(queue)).queueUrl();
        Map<String, MessageAttributeValue> attrs = new LinkedHashMap<>();
        attributes.forEach((k, v) -> attrs.put(k, MessageAttributeValue.builder().dataType("String").stringValue(v).build()));
        return client.sendMessage(r -> r.queueUrl(url).messageBody(body).messageAttributes(attrs)).messageId();
    }

    @Test
    void foreignMessageArrivesWithTheBrokersIdAndItsAttributes() throws Exception {
        String queue = queueName("foreign");
        SqsTransport transport = closeLater(SqsTransport.create(client));
        Receiver r = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        String messageId = sendForeign(queue, "hello from elsewhere", Map.of("trace", "t-1"));

        Delivery d = receive(r, 1, Duration.ofSeconds(20)).get(0);
        d.ack();

        assertThat(d.id()).isEqualTo(messageId);
        assertThat(d.key()).isNull();
        assertThat(d.headers()).containsExactly(Map.entry("trace", "t-1"));
        assertThat(new String(d.body(), StandardCharsets.UTF_8)).isEqualTo("hello from elsewhere");
        assertThat(d.deliveryCount()).isEqualTo(1);
    }

    @Test
    void foreignMessageIsProcessedInRawModeAndDeadLetteredWith400InEnvelopeMode() throws Exception {
        String rawQueue = queueName("foreign_raw");
        String envQueue = queueName("foreign_env");
        SqsTransport transport = closeLater(SqsTransport.create(client));
        Queues raw = closeLater(Queues.builder(transport).envelopeMode(EnvelopeMode.RAW).build());
        Set<String> handled = ConcurrentHashMap.newKeySet();
        Set<String> ids = ConcurrentHashMap.newKeySet();
        raw.processor(rawQueue, String.class).msgHandler(m -> {
            handled.add(m.payload());
            ids.add(m.id());
        }).start();
        String messageId = sendForeign(rawQueue, "plain text order", Map.of());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (handled.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(handled).containsExactly("plain text order");
        assertThat(ids).containsExactly(messageId);

        SqsTransport transport2 = closeLater(SqsTransport.create(client));
        Queues enveloped = closeLater(Queues.using(transport2));
        enveloped.processor(envQueue, String.class).handler(s -> { throw new AssertionError("must not be called"); }).start();
        sendForeign(envQueue, "not an envelope", Map.of());
        try (var dead = enveloped.dequeue(envQueue + "_deadletter", byte[].class)) {
            Msg<byte[]> m = dead.messages().poll(30, TimeUnit.SECONDS);
            assertThat(m).as("dead letter of the foreign message").isNotNull();
            assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo("not an envelope");
            assertThat(m.errors()).singleElement().satisfies(f -> assertThat(f.statusCode()).isEqualTo(400));
            dead.ack(m);
        }
    }

    @Test
    void rawModeCarriesResqMetadataAsMessageAttributesThroughRedeliveryToTheDeadLetterQueue() throws Exception {
        String queue = queueName("raw_meta");
        SqsTransport transport = closeLater(SqsTransport.create(client));
        Queues raw = closeLater(Queues.builder(transport).envelopeMode(EnvelopeMode.RAW).build());
        raw.processor(queue, String.class)
                .retry(io.resq.RetryPolicy.none())
                .redelivery(io.resq.RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                .handler(s -> { throw new IllegalStateException("still broken"); })
                .start();
        Msg<String> sent = raw.enqueue(queue, String.class).send(Msg.builder("plain body")
                .key("customer-7").category("OrderPlaced").attribute("trace", "t-9").attribute("tenant", "eu").build());

        // Peek at the dead letter with the raw client: the body is bare, the metadata are attributes.
        String dlqUrl = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        software.amazon.awssdk.services.sqs.model.Message dead = null;
        while (dead == null && System.nanoTime() < deadline) {
            try {
                String url = dlqUrl != null ? dlqUrl : client.getQueueUrl(r -> r.queueName(queue + "_deadletter")).queueUrl();
                dlqUrl = url;
                List<software.amazon.awssdk.services.sqs.model.Message> got = client.receiveMessage(r -> r.queueUrl(url)
                        .waitTimeSeconds(1).messageAttributeNames("All")).messages();
                dead = got.isEmpty() ? null : got.get(0);
            } catch (software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException e) {
                Thread.sleep(200);
            }
        }
        assertThat(dead).as("dead letter in %s_deadletter", queue).isNotNull();
        assertThat(dead.body()).isEqualTo("plain body");
        Map<String, String> attrs = new LinkedHashMap<>();
        dead.messageAttributes().forEach((k, v) -> attrs.put(k, v.stringValue()));
        // resq's identifying metadata get native attributes first; the rest may share the overflow attribute.
        assertThat(attrs).containsEntry("resq-id", sent.id()).containsEntry("resq-category", "OrderPlaced")
                .containsEntry("resq-key", "customer-7").containsEntry("resq-attempt", "2").containsEntry("resq-format", "raw");

        // And through resq, the dead letter is whole again: id, key, category, attributes, both failures.
        String url = dlqUrl;
        String receipt = dead.receiptHandle();
        client.changeMessageVisibility(r -> r.queueUrl(url).receiptHandle(receipt).visibilityTimeout(0));
        try (var in = raw.dequeue(queue + "_deadletter", String.class)) {
            Msg<String> m = in.messages().poll(30, TimeUnit.SECONDS);
            assertThat(m).isNotNull();
            assertThat(m.id()).isEqualTo(sent.id());
            assertThat(m.key()).isEqualTo("customer-7");
            assertThat(m.category()).isEqualTo("OrderPlaced");
            assertThat(m.attributes()).containsEntry("trace", "t-9").containsEntry("tenant", "eu");
            assertThat(m.errors()).hasSize(2).allSatisfy(f -> assertThat(f.message()).isEqualTo("still broken"));
            in.ack(m);
        }
    }

    @Test
    void headersBeyondWhatSqsAttributesAllowSurvive() throws Exception {
        String queue = queueName("headers");
        SqsTransport transport = closeLater(SqsTransport.create(client));
        Receiver r = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; i < 12; i++) {
            headers.put("h" + i, "v" + i);        // more than SQS's 10 attributes
        }
        headers.put("has space", "x");             // a name SQS refuses
        headers.put("AWS.reserved", "y");          // a prefix SQS reserves
        headers.put("empty", "");                  // SQS refuses empty values
        headers.put("control", "a\u0001b");        // a character SQS refuses
        headers.put("resq.id", "spoof");           // a name the transport reserves
        transport.sender(queue).send(new Outbound("id-h", "k", headers, "{}".getBytes(StandardCharsets.UTF_8), Duration.ZERO))
                .get(30, TimeUnit.SECONDS);

        Delivery d = receive(r, 1, Duration.ofSeconds(20)).get(0);
        d.ack();

        assertThat(d.id()).isEqualTo("id-h");
        assertThat(d.key()).isEqualTo("k");
        assertThat(d.headers()).isEqualTo(headers);
    }

    @Test
    void slowHandlerKeepsItsMessageBeyondTheVisibilityTimeout() throws Exception {
        String queue = queueName("heartbeat");
        SqsTransport transport = closeLater(SqsTransport.builder(client).visibilityTimeout(Duration.ofSeconds(2)).build());
        Receiver slow = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        Receiver other = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        transport.sender(queue).send(Outbound.of("long-job", "x".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        Delivery held = receive(slow, 1, Duration.ofSeconds(20)).get(0);

        // Three visibility timeouts pass while the handler "runs"; the heartbeat keeps the message hidden.
        List<Delivery> stolen = new ArrayList<>();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
        while (System.nanoTime() < until) {
            stolen.addAll(other.poll(10, Duration.ofMillis(500)));
        }
        assertThat(stolen).as("another consumer received a message whose handler was still running").isEmpty();

        held.ack();
        Thread.sleep(3000); // past a visibility timeout: an ack that did not land would show now
        assertThat(other.poll(10, Duration.ofSeconds(1))).isEmpty();
    }

    @Test
    void killedConsumersMessageComesBackAfterTheVisibilityTimeout() throws Exception {
        String queue = queueName("dead_consumer");
        SqsTransport transport = closeLater(SqsTransport.create(client));
        transport.sender(queue).send(Outbound.of("orphan", "x".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        HoldingConsumer.Child child = HoldingConsumer.Child.start(ElasticMq.endpoint(), queue, 2, 1);
        assertThat(child.held).containsExactly("orphan");
        child.kill();

        Receiver next = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        List<Delivery> back = receive(next, 1, Duration.ofSeconds(20));
        assertThat(back).extracting(Delivery::id).containsExactly("orphan");
        assertThat(back.get(0).deliveryCount()).isEqualTo(2);
        back.get(0).ack();
    }

    @Test
    void fifoDelayedMessageIsParkedThenDeliveredOnceCounted() throws Exception {
        SqsTransport transport = closeLater(SqsTransport.builder(client).fifo(true).build());
        String queue = queueName("fifo_delay");
        Receiver r = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        long sentAt = System.nanoTime();
        transport.sender(queue).send(new Outbound("d1", "k", Map.of(), new byte[] {1}, Duration.ofSeconds(2))).get(30, TimeUnit.SECONDS);

        List<Delivery> got = receive(r, 1, Duration.ofSeconds(20));
        long took = System.nanoTime() - sentAt;

        assertThat(got).extracting(Delivery::id).containsExactly("d1");
        assertThat(Duration.ofNanos(took)).isGreaterThanOrEqualTo(Duration.ofMillis(1950));
        assertThat(got.get(0).deliveryCount()).as("the parking receive is no delivery").isEqualTo(1);
        got.get(0).ack();
    }

    @Test
    void fifoRedeliveryWithTheSameIdIsNotSwallowedByDeduplicationButAnExactResendIs() throws Exception {
        SqsTransport transport = closeLater(SqsTransport.builder(client).fifo(true).build());
        String queue = queueName("fifo_dedup");
        Receiver r = closeLater(transport.receiver(queue, ReceiverOptions.defaults()));
        Outbound first = new Outbound("same-id", "k", Map.of("resq-attempt", "1"), "a".getBytes(StandardCharsets.UTF_8), Duration.ZERO);
        transport.sender(queue).send(first).get(30, TimeUnit.SECONDS);
        transport.sender(queue).send(first).get(30, TimeUnit.SECONDS); // a retried send: deduplicated
        Outbound redelivery = new Outbound("same-id", "k", Map.of("resq-attempt", "2"), "a".getBytes(StandardCharsets.UTF_8), Duration.ZERO);
        transport.sender(queue).send(redelivery).get(30, TimeUnit.SECONDS);

        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            for (Delivery d : r.poll(10, Duration.ofMillis(200))) {
                got.add(d);
                d.ack();
            }
        }
        assertThat(got).extracting(d -> d.headers().get("resq-attempt")).containsExactly("1", "2");
    }

    @Test
    void fifoNamesMapSoDeadLetterQueuesAreValid() {
        try (SqsTransport fifoMode = SqsTransport.builder(client).fifo(true).build();
             SqsTransport standard = SqsTransport.create(client)) {
            QueueRegistry names = fifoMode.queues();
            assertThat(names.physicalName("orders")).isEqualTo("orders.fifo");
            assertThat(names.physicalName("orders_deadletter")).isEqualTo("orders_deadletter.fifo");
            assertThat(standard.queues().physicalName("orders.fifo")).isEqualTo("orders.fifo");
            assertThat(standard.queues().physicalName("orders.fifo_deadletter")).isEqualTo("orders_deadletter.fifo");
            assertThat(standard.queues().physicalName("orders")).isEqualTo("orders");
        }
    }

    @Test
    void delaysBeyondFifteenMinutesUseDelaySecondsThenADueTime() {
        long now = 1_000_000L;
        WireFormat.Encoded shortDelay = WireFormat.encode(new Outbound("a", null, Map.of(), new byte[] {'x'}, Duration.ofMillis(1500)), false, now);
        assertThat(shortDelay.delaySeconds()).as("rounded up, never early").isEqualTo(2);
        assertThat(shortDelay.attributes()).doesNotContainKey(WireFormat.DUE);

        WireFormat.Encoded longDelay = WireFormat.encode(new Outbound("b", null, Map.of(), new byte[] {'x'}, Duration.ofHours(2)), false, now);
        assertThat(longDelay.delaySeconds()).isEqualTo(900);
        assertThat(longDelay.attributes().get(WireFormat.DUE).stringValue()).isEqualTo(Long.toString(now + Duration.ofHours(2).toMillis()));

        WireFormat.Encoded fifo = WireFormat.encode(new Outbound("c", "k", Map.of(), new byte[] {'x'}, Duration.ofSeconds(5)), true, now);
        assertThat(fifo.delaySeconds()).as("FIFO queues refuse DelaySeconds").isZero();
        assertThat(fifo.attributes()).containsKey(WireFormat.DUE);
        assertThat(fifo.groupId()).isEqualTo("k");
    }
}
