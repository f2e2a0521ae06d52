package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.ConnectionFactory;
import io.resq.ResqException;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Receiver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS against the local broker's TLS listener, whose self-signed certificate names only
 * {@code localhost}: an unknown certificate and a host name the certificate does not list are
 * refused with an error that says what to do; a trusted certificate for the right host connects.
 */
class RabbitMqTlsTest {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void tlsListener() {
        RabbitBroker.requireTls();
    }

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }

    @Test
    void anAmqpsUriRefusesACertificateTheJvmDoesNotTrust() {
        String uri = "amqps://guest:guest@localhost:" + RabbitBroker.tlsPort() + "/%2F";
        assertThatThrownBy(() -> RabbitMqTransport.create(uri).close())
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("cannot connect to RabbitMQ at localhost:" + RabbitBroker.tlsPort() + " (vhost /, TLS)")
                .hasMessageContaining("is not trusted")
                .hasMessageContaining("javax.net.ssl.trustStore")
                .hasMessageContaining("sslContext(...)")
                .message().doesNotContain("guest");
    }

    @Test
    void aFactoryWithTlsHasItsHostNameChecked() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost("127.0.0.1"); // the certificate names localhost only
        factory.setPort(RabbitBroker.tlsPort());
        factory.useSslProtocol(RabbitBroker.tlsContextTrustingTheBroker());
        assertThatThrownBy(() -> RabbitMqTransport.create(factory).close())
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("does not name the host connected to")
                .hasMessageContaining("127.0.0.1");

        factory.setHost("localhost");
        try (RabbitMqTransport transport = RabbitMqTransport.create(factory)) {
            assertThat(transport.health().isUp()).isTrue();
            assertRoundTrip(transport);
        }
    }

    static void assertRoundTrip(RabbitMqTransport transport) throws Exception {
        String queue = "tls_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        QUEUES.add(queue);
        QUEUES.add(queue + "_deadletter");
        byte[] body = "over TLS".getBytes(StandardCharsets.UTF_8);
        transport.sender(queue).send(List.of(new Outbound("m-1", null, Map.of(), body, Duration.ZERO))).get(10, TimeUnit.SECONDS);
        try (Receiver r = transport.receiver(queue, ReceiverOptions.defaults())) {
            List<Delivery> got = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (got.isEmpty() && System.nanoTime() < deadline) {
                got.addAll(r.poll(10, Duration.ofMillis(200)));
            }
            assertThat(got).hasSize(1);
            assertThat(got.get(0).body()).isEqualTo(body);
            got.get(0).ack();
        }
    }
}
