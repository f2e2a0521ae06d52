package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.EnvelopeMode;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.testing.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A binary record key and binary header values survive into redelivery and dead-letter copies byte for byte. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaBinaryKeyTest {

    private static final byte[] BINARY_KEY = {(byte) 0xFF, 0x00, (byte) 0xC3, 0x28, 0x7F};
    private static final byte[] BINARY_VALUE = {(byte) 0xC0, (byte) 0x80, 0x01, (byte) 0xFE};
    private static final String TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private static void assertHeaders(ConsumerRecord<byte[], byte[]> copy) {
        assertThat(copy.headers().lastHeader("bin").value()).as("the binary header of %s", copy.topic()).containsExactly(BINARY_VALUE);
        assertThat(new String(copy.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8)).isEqualTo(TRACE);
    }

    @Test
    void aBinaryKeyIsKeptInTheRedeliveryAndTheDeadLetter() throws Exception {
        String topic = "binkey_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> bytes = Map.of("bootstrap.servers", TestKafka.bootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(), "value.serializer", ByteArraySerializer.class.getName());
        try (Queues queues = Queues.builder(KafkaTransport.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers())))
                .envelopeMode(EnvelopeMode.RAW).build()) {
            queues.processor(topic, String.class).group("binkey").retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(2))
                    .handler(s -> {
                        throw new IllegalStateException("fails");
                    }).start();
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(bytes)) {
                RecordHeaders headers = new RecordHeaders();
                headers.add("bin", BINARY_VALUE);
                headers.add("traceparent", TRACE.getBytes(StandardCharsets.UTF_8));
                producer.send(new ProducerRecord<>(topic, null, BINARY_KEY, "\"order\"".getBytes(StandardCharsets.UTF_8), headers))
                        .get(30, TimeUnit.SECONDS);
            }

            List<ConsumerRecord<byte[], byte[]>> dead = read(topic + "_deadletter", 1);
            assertThat(dead).hasSize(1);
            assertThat(dead.get(0).key()).as("the dead letter's key").containsExactly(BINARY_KEY);
            assertHeaders(dead.get(0));
            List<ConsumerRecord<byte[], byte[]>> retried = read(topic + "_retry-binkey", 1);
            assertThat(retried).hasSize(1);
            assertThat(retried.get(0).key()).as("the redelivery's key").containsExactly(BINARY_KEY);
            assertHeaders(retried.get(0));
        }
    }

    @Test
    void textKeysStayTextAndAnyKeyRoundTrips() {
        assertThat(BinaryText.toText("customer-7".getBytes(StandardCharsets.UTF_8))).isEqualTo("customer-7");
        assertThat(BinaryText.toText("\uFFFD".getBytes(StandardCharsets.UTF_8))).isEqualTo("\uFFFD");
        for (byte[] key : List.of(BINARY_KEY, "plain".getBytes(StandardCharsets.UTF_8),
                (BinaryText.BINARY_PREFIX + "AAAA").getBytes(StandardCharsets.UTF_8), new byte[0])) {
            assertThat(BinaryText.toBytes(BinaryText.toText(key))).containsExactly(key);
        }
    }

    private static List<ConsumerRecord<byte[], byte[]>> read(String topic, int n) {
        Map<String, Object> config = Map.of("bootstrap.servers", TestKafka.bootstrapServers(), "group.id", "reader-" + UUID.randomUUID(),
                "auto.offset.reset", "earliest", "key.deserializer", ByteArrayDeserializer.class.getName(),
                "value.deserializer", ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config)) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (out.size() < n && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
