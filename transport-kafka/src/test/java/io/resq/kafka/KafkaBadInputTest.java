package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Enqueue;
import io.resq.Queues;
import io.resq.ResqException;
import io.resq.SendException;
import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What the transport does with input it cannot serve: each path ends in a clear error, never a hang. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KafkaBadInputTest {

    private static Map<String, Object> config() {
        return Map.of("bootstrap.servers", TestKafka.bootstrapServers());
    }

    @Test
    void unreachableBrokerFailsFastNamingTheAddressAndTheCause() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        String address = "127.0.0.1:" + port;

        assertThatThrownBy(() -> KafkaTransport.builder(Map.of("bootstrap.servers", address))
                .connectTimeout(Duration.ofSeconds(2)).build())
                .isInstanceOf(ResqException.class)
                .hasMessageContaining(address)
                .hasMessageContaining("Connection refused");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
    }

    @Test
    void missingBootstrapServersIsRefused() {
        assertThatThrownBy(() -> KafkaTransport.create(Map.of("acks", "all")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bootstrap.servers");
    }

    @Test
    void aSizeSettingThatIsNotANumberIsRefusedNamingIt() {
        Map<String, Object> bad = new java.util.HashMap<>(config());
        bad.put("max.request.size", "lots");
        assertThatThrownBy(() -> KafkaTransport.create(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max.request.size").hasMessageContaining("'lots'");
    }

    @Test
    void invalidTopicNameIsRefused() {
        try (KafkaTransport t = KafkaTransport.create(config())) {
            assertThatThrownBy(() -> t.sender("orders/eu")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("orders/eu").hasMessageContaining("topic name");
            assertThatThrownBy(() -> t.receiver("a b", ReceiverOptions.group("test"))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void theBodyLimitIsTheBrokersAndTheProducersSmallerLimit() {
        try (KafkaTransport t = KafkaTransport.create(config())) {
            // producer max.request.size (1 MiB) is below the broker's message.max.bytes (1048588)
            assertThat(t.maxBodySize()).isEqualTo(1024 * 1024 - KafkaTransport.FRAMING_BYTES);
        }
        Map<String, Object> bigRequests = new HashMap<>(config());
        bigRequests.put("max.request.size", 8 * 1024 * 1024);
        try (KafkaTransport t = KafkaTransport.create(bigRequests)) {
            // now the broker's own limit, read from the broker, is the smaller one
            assertThat(t.maxBodySize()).isEqualTo(KafkaAdmin.KAFKA_DEFAULT_MESSAGE_MAX_BYTES - KafkaTransport.FRAMING_BYTES);
        }
    }

    @Test
    void aRecordWhoseHeadersPushItOverTheLimitIsRefused() {
        try (KafkaTransport t = KafkaTransport.create(config())) {
            Map<String, String> headers = Map.of("huge", "x".repeat(t.maxBodySize()));
            Outbound m = new Outbound("h-1", null, headers, new byte[] {1}, Duration.ZERO);

            assertThatThrownBy(() -> t.sender("bad_headers").send(m).get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("h-1")
                    .hasMessageContaining(Integer.toString(t.maxBodySize() + KafkaTransport.FRAMING_BYTES));
        }
    }

    @Test
    void anOversizedPayloadIsASendExceptionThroughTheApi() {
        try (Queues queues = Queues.using(KafkaTransport.create(config()))) {
            Enqueue<byte[]> out = queues.enqueue("bad_oversized", byte[].class);
            assertThatThrownBy(() -> out.send(new byte[2 * 1024 * 1024]))
                    .isInstanceOf(SendException.class);
        }
    }

    @Test
    void closedTransportRefusesEverythingAndSaysClosed() throws Exception {
        KafkaTransport t = KafkaTransport.create(config());
        Receiver r = t.receiver("bad_closed", ReceiverOptions.group("test"));
        t.close();
        t.close(); // idempotent

        assertThat(t.health().isUp()).isFalse();
        assertThat(t.health().detail()).contains("closed");
        assertThatThrownBy(() -> t.sender("bad_closed")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> t.receiver("bad_closed", ReceiverOptions.group("test")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> r.poll(1, Duration.ofMillis(10))).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        r.close(); // idempotent after the transport closed it
    }

    @Test
    void pollArgumentsAreChecked() {
        try (KafkaTransport t = KafkaTransport.create(config())) {
            Receiver r = t.receiver("bad_args", ReceiverOptions.group("test"));
            assertThatThrownBy(() -> r.poll(0, Duration.ofMillis(10))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("max must be >= 1, was 0");
        }
    }
}
