package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Queues;
import io.resq.SendException;
import io.resq.spi.Outbound;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;

/** Bad input and bad surroundings: each fails fast with an error that names the address, queue, limit or state. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqsBadInputTest {

    private static String queueName(String base) {
        return "bad_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    @Test
    void unreachableEndpointFailsReceiverSendAndHealthFastNamingHostPortAndCause() throws Exception {
        int port = ElasticMq.freePort(); // nothing listens there
        String address = "127.0.0.1:" + port;
        try (SqsClient client = ElasticMq.client("http://" + address); SqsTransport transport = SqsTransport.create(client)) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> transport.receiver("orders", ReceiverOptions.defaults()))
                    .isInstanceOf(SqsTransportException.class)
                    .hasMessageContaining(address)
                    .hasMessageContaining("orders")
                    .hasMessageContaining("Connection refused");
            assertThatThrownBy(() -> transport.sender("orders").send(Outbound.of("x", new byte[] {1})).get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(SqsTransportException.class)
                    .hasMessageContaining(address)
                    .hasMessageContaining("Connection refused");
            assertThat(transport.health().isUp()).isFalse();
            assertThat(transport.health().detail()).contains(address).contains("Connection refused");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("fails fast, no endless retry").isLessThan(Duration.ofSeconds(20));

            // Through the public API: start() and send() fail the same way.
            Queues queues = Queues.using(transport);
            assertThatThrownBy(() -> queues.processor("orders", String.class).handler(s -> { }).start())
                    .hasMessageContaining(address);
            assertThatThrownBy(() -> queues.enqueue("orders", String.class).send("x"))
                    .isInstanceOf(SendException.class)
                    .hasStackTraceContaining(address);
        }
    }

    @Test
    void missingQueueWithCreationOffIsNamed() {
        String queue = queueName("missing");
        try (SqsClient client = ElasticMq.client();
             SqsTransport transport = SqsTransport.builder(client).createQueues(false).build()) {
            assertThatThrownBy(() -> transport.receiver(queue, ReceiverOptions.defaults()))
                    .isInstanceOf(SqsTransportException.class)
                    .hasMessageContaining(queue)
                    .hasMessageContaining("does not exist")
                    .hasMessageContaining("createQueues");
            assertThatThrownBy(() -> transport.sender(queue).send(Outbound.of("x", new byte[] {1})).get(30, TimeUnit.SECONDS))
                    .cause()
                    .hasMessageContaining(queue)
                    .hasMessageContaining("does not exist");
        }
    }

    @Test
    void invalidQueueNameIsRefusedBeforeTheWire() {
        try (SqsClient client = ElasticMq.client(); SqsTransport transport = SqsTransport.create(client)) {
            assertThatThrownBy(() -> transport.sender("orders/eu"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("orders/eu");
        }
    }

    @Test
    void messageOverTheQueueLimitIsRefusedNamingTheLimit() throws Exception {
        String queue = queueName("small");
        // A transport for queues with an 8 KiB MaximumMessageSize: bodies up to 4 KiB, attributes included in the check.
        try (SqsClient client = ElasticMq.client(); SqsTransport transport = SqsTransport.builder(client).maxMessageSize(8192).build()) {
            assertThat(transport.maxBodySize()).isEqualTo(8192 - 4096);
            byte[] body = "x".repeat(4000).getBytes(StandardCharsets.UTF_8);
            Outbound fatHeaders = new Outbound("big", null, Map.of("note", "n".repeat(5000)), body, Duration.ZERO);

            assertThatThrownBy(() -> transport.sender(queue).send(fatHeaders).get(30, TimeUnit.SECONDS))
                    .cause()
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(queue)
                    .hasMessageContaining("8192")
                    .hasMessageContaining("4000");

            // Through the public API an oversized payload is a SendException naming the limit, not a retry loop.
            Queues queues = Queues.using(transport);
            assertThatThrownBy(() -> queues.enqueue(queue, String.class).send("y".repeat(5000)))
                    .isInstanceOf(SendException.class)
                    .hasMessageContaining("4096");
            // What fits goes through.
            transport.sender(queue).send(Outbound.of("fits", body)).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void closedTransportFailsClearlyAndCloseIsIdempotent() throws Exception {
        String queue = queueName("closed");
        try (SqsClient client = ElasticMq.client()) {
            SqsTransport transport = SqsTransport.create(client);
            var receiver = transport.receiver(queue, ReceiverOptions.defaults());
            Sender sender = transport.sender(queue);
            transport.close();
            transport.close();

            assertThat(transport.health().isUp()).isFalse();
            assertThat(transport.health().detail()).contains("closed");
            assertThatThrownBy(() -> sender.send(Outbound.of("x", new byte[] {1})).get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> transport.sender(queue)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> transport.receiver(queue, ReceiverOptions.defaults()))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> receiver.poll(1, Duration.ofMillis(10)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            receiver.close();
            // The application's client is still usable: the transport did not close what it does not own.
            assertThat(client.listQueues().queueUrls()).isNotNull();
        }
    }

    @Test
    void invalidOptionsAreRefusedWithTheValue() {
        try (SqsClient client = ElasticMq.client()) {
            assertThatThrownBy(() -> SqsTransport.builder(client).visibilityTimeout(Duration.ZERO))
                    .hasMessageContaining("visibilityTimeout").hasMessageContaining("PT0S");
            assertThatThrownBy(() -> SqsTransport.builder(client).maxMessageSize(2 * 1024 * 1024))
                    .hasMessageContaining("maxMessageSize").hasMessageContaining("2097152");
            assertThatThrownBy(() -> SqsTransport.builder(client).maxWait(Duration.ofSeconds(21)))
                    .hasMessageContaining("maxWait");
            try (SqsTransport t = SqsTransport.create(client)) {
                String queue = queueName("opts");
                assertThatThrownBy(() -> t.receiver(queue, ReceiverOptions.defaults()).poll(0, Duration.ZERO))
                        .hasMessageContaining("max must be >= 1, was 0");
            }
        }
    }

    @Test
    void endpointDescriptionsNeverCarryUserInfo() {
        assertThat(SqsEndpoint.hostAndPort(URI.create("https://user:secret@sqs.example.com:8443/path")))
                .isEqualTo("sqs.example.com:8443")
                .doesNotContain("secret");
        assertThat(SqsEndpoint.hostAndPort(URI.create("http://localhost"))).isEqualTo("localhost:80");
    }
}
