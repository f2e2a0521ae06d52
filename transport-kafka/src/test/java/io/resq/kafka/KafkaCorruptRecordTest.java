package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Enqueue;
import io.resq.Queues;
import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.testkit.Await;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A record whose checksum fails (damaged on the broker's disk) is skipped past and dead-lettered
 * with the reason; the records after it are handled and the receiver never stalls on it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaCorruptRecordTest {

    @Test
    void aCorruptRecordIsDeadLetteredWithItsReasonAndTheRestIsHandled() throws Exception {
        String topic = "corrupt_" + UUID.randomUUID().toString().substring(0, 8);
        String marker = "DAMAGE-ME-" + UUID.randomUUID();
        Map<String, Object> config = Map.of("bootstrap.servers", TestKafka.bootstrapServers());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        Set<String> handled = ConcurrentHashMap.newKeySet();
        try (KafkaTransport transport = KafkaTransport.create(config); Queues queues = Queues.using(transport)) {
            Enqueue<String> out = queues.enqueue(topic, String.class);
            // Sent one at a time: each record is a batch of its own, so damage stays in one.
            out.send("good-1");
            out.send(marker);
            out.send("good-2");
            damage(TestKafka.embeddedLogDir().resolve(topic + "-0"), marker);

            queues.processor(topic, String.class).group("g").handler(handled::add).start();
            assertThat(Await.until(Duration.ofSeconds(60), () -> handled.containsAll(Set.of("good-1", "good-2"))))
                    .as("handled: %s; health: %s", handled, transport.health().detail()).isTrue();
            assertThat(handled).doesNotContain(marker);

            try (Receiver dead = transport.receiver(topic + "_deadletter", ReceiverOptions.group("reader"))) {
                List<Delivery> got = new ArrayList<>();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (got.isEmpty() && System.nanoTime() < until) {
                    got.addAll(dead.poll(10, Duration.ofMillis(500)));
                }
                assertThat(got).as("the corrupt record's dead letter").hasSize(1);
                String errors = got.get(0).headers().get("resq-errors");
                assertThat(errors).contains("400").contains(topic + "-0").contains("offset 1").contains("corrupt");
                got.get(0).ack();
            }
            assertThat(transport.health().isUp()).as("health: %s", transport.health().detail()).isTrue();
        }
    }

    /** Flips one byte of {@code marker} in the partition's segment: the record's CRC no longer matches. */
    private static void damage(Path partitionDir, String marker) throws Exception {
        byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
        try (var files = Files.list(partitionDir)) {
            for (Path segment : files.filter(p -> p.toString().endsWith(".log")).toList()) {
                byte[] bytes = Files.readAllBytes(segment);
                int at = indexOf(bytes, needle);
                if (at >= 0) {
                    try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
                        f.seek(at);
                        f.write(needle[0] ^ 0x20);
                    }
                    return;
                }
            }
        }
        throw new AssertionError("marker not found in the segments of " + partitionDir);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
