package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.ConnectionFactory;
import io.resq.ResqException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The builder's TLS options against the local broker's TLS listener (see {@link RabbitMqTlsTest}). */
class RabbitMqTlsOptionsTest {

    @BeforeAll
    static void tlsListener() {
        RabbitBroker.requireTls();
    }

    @AfterAll
    static void deleteQueues() {
        RabbitMqTlsTest.deleteQueues();
    }

    @Test
    void aTrustedCertificateConnectsAndCarriesMessages() throws Exception {
        String uri = "amqps://guest:guest@localhost:" + RabbitBroker.tlsPort() + "/%2F";
        try (RabbitMqTransport transport = RabbitMqTransport.builder(uri).sslContext(RabbitBroker.tlsContextTrustingTheBroker()).build()) {
            assertThat(transport.health().isUp()).isTrue();
            assertThat(transport.health().detail()).contains("TLS");
            RabbitMqTlsTest.assertRoundTrip(transport);
        }
    }

    @Test
    void onlyTheOptionNamedInsecureTrustsAnyCertificate() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost("127.0.0.1");
        factory.setPort(RabbitBroker.tlsPort());
        try (RabbitMqTransport transport = RabbitMqTransport.builder(factory).insecureTrustAllCertificates().build()) {
            RabbitMqTlsTest.assertRoundTrip(transport);
        }
    }

    @Test
    void thePlainPortIsExplainedWhenTlsIsExpected() {
        String uri = "amqps://guest:guest@localhost:5672/%2F";
        assertThatThrownBy(() -> RabbitMqTransport.builder(uri).sslContext(RabbitBroker.tlsContextTrustingTheBroker()).build().close())
                .isInstanceOf(ResqException.class)
                .hasMessageContaining("TLS port");
    }
}
