package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Msg;
import io.resq.Queues;
import io.resq.EnvelopeMode;
import io.resq.Processor;
import io.resq.RetryPolicy;
import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Kafka-specific receiving: contiguous commits, slow handlers, foreign records. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaReceiverTest {

    private static String topic(String base) {
        return "recv_" + base + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Map<String, Object> config() {
        return Map.of("bootstrap.servers", TestKafka.bootstrapServers());
    }

    private static List<Delivery> receive(Receiver r, int n) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(200)));
        }
        return got;
    }

    /** Receives {@code limit} deliveries, then whatever more arrives in 1.5 s of polls: a paused partition fetches nothing. */
    private static List<Delivery> heldWhilePaused(Receiver r, int limit) throws InterruptedException {
        List<Delivery> held = receive(r, limit);
        Thread.sleep(1_500);
        held.addAll(r.poll(100, Duration.ofMillis(200)));
        return held;
    }

    private static Set<String> ids(List<Delivery> deliveries) {
        Set<String> ids = new java.util.HashSet<>();
        deliveries.forEach(d -> ids.add(d.id()));
        return ids;
    }

    /** Polls and acks until {@code seen} holds {@code total} ids, for up to 30 s. */
    private static void ackUntilSeen(Receiver r, Set<String> seen, int total) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (seen.size() < total && System.nanoTime() < deadline) {
            for (Delivery d : r.poll(100, Duration.ofMillis(200))) {
                seen.add(d.id());
                d.ack();
            }
        }
    }

    private static long committed(String group, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            OffsetAndMetadata o = offsets.get(new TopicPartition(topic, 0));
            return o == null ? -1 : o.offset();
        }
    }

    @Test
    void outOfOrderAcksCommitOnlyTheContiguousPrefix() throws Exception {
        String topic = topic("contiguous");
        try (KafkaTransport t = KafkaTransport.builder(config()).topicPartitions(1).build()) {
            List<Outbound> sent = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                sent.add(Outbound.of("m-" + i, new byte[] {(byte) i}));
            }
            t.sender(topic).send(sent).get(30, TimeUnit.SECONDS);

            Receiver first = t.receiver(topic, ReceiverOptions.group("g"));
            List<Delivery> got = receive(first, 10);
            assertThat(got).extracting(Delivery::id).containsExactly(sent.stream().map(Outbound::id).toArray(String[]::new));
            // acked backwards and with a hole at m-3, as concurrent handlers would
            for (int i = 9; i >= 0; i--) {
                if (i != 3) {
                    got.get(i).ack();
                }
            }
            first.close();
            assertThat(committed("g", topic)).as("committed offset stops at the unacked m-3").isEqualTo(3);

            Receiver second = t.receiver(topic, ReceiverOptions.group("g"));
            List<Delivery> again = receive(second, 7);
            assertThat(again).extracting(Delivery::id).startsWith("m-3").hasSize(7);
            again.forEach(Delivery::ack);
            second.close();
            assertThat(committed("g", topic)).isEqualTo(10);
        }
    }

    @Test
    void aHandlerSlowerThanMaxPollIntervalCausesNoRebalanceAndNoRedelivery() throws Exception {
        String topic = topic("slow");
        Map<String, Object> config = new HashMap<>(config());
        config.put("max.poll.interval.ms", 1500);
        AtomicInteger calls = new AtomicInteger();
        Set<String> handled = ConcurrentHashMap.newKeySet();
        try (Queues queues = Queues.using(KafkaTransport.builder(config).topicPartitions(1).build())) {
            Processor<String> p = queues.processor(topic, String.class).group("resq")
                    .concurrency(1)
                    .retry(RetryPolicy.none())
                    .handler(s -> {
                        calls.incrementAndGet();
                        if (s.equals("slow")) {
                            Thread.sleep(4_000); // well past max.poll.interval.ms
                        }
                        handled.add(s);
                    })
                    .start();
            var out = queues.enqueue(topic, String.class);
            out.send("slow");
            out.send("next-1");
            out.send("next-2");

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (handled.size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Thread.sleep(3_000); // a kicked-out consumer would get "slow" again now
            assertThat(handled).containsExactlyInAnyOrder("slow", "next-1", "next-2");
            assertThat(calls.get()).as("handler calls: no redelivery after the slow one").isEqualTo(3);
            assertThat(p.health().redelivered()).isZero();
        }
        assertThat(committed("resq", topic)).isEqualTo(3);
    }

    @Test
    void aFullPartitionIsPausedAtTheHoldLimitAndResumedAtHalfWithItsRetryTopic() throws Exception {
        String topic = topic("backpressure");
        Map<String, Object> config = new HashMap<>(config());
        config.put("max.poll.records", 2); // hold limit 8 x 2 = 16 records, resumed at 8
        try (KafkaTransport t = KafkaTransport.builder(config).topicPartitions(1).build()) {
            List<Outbound> sent = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                sent.add(Outbound.of("m-" + i, new byte[] {(byte) i}));
            }
            t.sender(topic).send(sent).get(30, TimeUnit.SECONDS);
            t.sender(topic).send(List.of(Outbound.of("delayed", new byte[] {1}).withDelay(Duration.ofMillis(100)))).get(30, TimeUnit.SECONDS);

            Receiver r = t.receiver(topic, new ReceiverOptions("g", 1));
            List<Delivery> held = heldWhilePaused(r, 16);
            assertThat(held.size()).as("held while paused: the limit plus at most the poll that reached it").isBetween(16, 17);
            Set<String> seen = ids(held);

            // Acking down to just above half keeps the partition paused...
            while (held.size() > 9) {
                held.remove(0).ack();
            }
            Thread.sleep(1_500);
            assertThat(r.poll(100, Duration.ofMillis(200))).as("nothing fetched above half the hold limit").isEmpty();

            // ...and half resumes it, the retry topic too: everything arrives.
            held.forEach(Delivery::ack);
            ackUntilSeen(r, seen, 41);
            assertThat(seen).hasSize(41).contains("delayed", "m-39");
            r.close();
        }
    }

    @Test
    void aPartitionIsAlsoPausedAtTwoFetchesWorthOfBytes() throws Exception {
        String topic = topic("bytes");
        Map<String, Object> config = new HashMap<>(config());
        config.put("max.partition.fetch.bytes", 2_000); // hold limit 4,000 bytes: four records of 1,000
        try (KafkaTransport t = KafkaTransport.builder(config).topicPartitions(1).build()) {
            for (int i = 0; i < 20; i++) {
                // One at a time, so that every record is a batch of its own: a fetch returns whole batches.
                t.sender(topic).send(List.of(Outbound.of("b-" + i, new byte[1_000]))).get(30, TimeUnit.SECONDS);
            }
            Receiver r = t.receiver(topic, new ReceiverOptions("g", 1));
            List<Delivery> held = heldWhilePaused(r, 4);
            assertThat(held.size()).as("held while paused: 4,000 bytes plus at most the fetch that reached them").isBetween(4, 6);

            Set<String> seen = ids(held);
            held.forEach(Delivery::ack);
            ackUntilSeen(r, seen, 20);
            assertThat(seen).hasSize(20);
            r.close();
        }
    }

    @Test
    void aForeignRecordIsDeliveredWithItsLogPositionAsId() throws Exception {
        String topic = topic("foreign");
        try (KafkaTransport t = KafkaTransport.builder(config()).topicPartitions(1).build();
             KafkaProducer<byte[], byte[]> raw = rawProducer()) {
            Receiver r = t.receiver(topic, ReceiverOptions.group("g"));
            raw.send(new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8), "plain text".getBytes(StandardCharsets.UTF_8)))
                    .get(30, TimeUnit.SECONDS);

            Delivery d = receive(r, 1).get(0);
            assertThat(d.id()).isEqualTo(topic + "-0@0");
            assertThat(d.key()).isEqualTo("k");
            assertThat(d.headers()).isEmpty();
            assertThat(d.deliveryCount()).isEqualTo(1);
            d.ack();
        }
    }

    @Test
    void aForeignRecordIsProcessedInRawModeAndDeadLetteredWith400InEnvelopeMode() throws Exception {
        String rawTopic = topic("foreign_raw");
        String envTopic = topic("foreign_env");
        try (KafkaProducer<byte[], byte[]> raw = rawProducer()) {
            Set<String> handled = ConcurrentHashMap.newKeySet();
            try (Queues queues = Queues.builder(KafkaTransport.create(config())).envelopeMode(EnvelopeMode.RAW).build()) {
                queues.processor(rawTopic, String.class).group("raw").msgHandler(m -> handled.add(m.payload() + "|" + m.attempt())).start();
                raw.send(new ProducerRecord<>(rawTopic, null, "{\"order\":1}".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (handled.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(handled).containsExactly("{\"order\":1}|1");
            }
            try (Queues queues = Queues.using(KafkaTransport.create(config()))) {
                queues.processor(envTopic, String.class).group("env").handler(s -> { }).start();
                raw.send(new ProducerRecord<>(envTopic, null, "not an envelope".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
                try (var dead = queues.dequeue(envTopic + "_deadletter", byte[].class, "dlq-reader")) {
                    Msg<byte[]> m = dead.messages().poll(30, TimeUnit.SECONDS);
                    assertThat(m).isNotNull();
                    assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo("not an envelope");
                    assertThat(m.errors()).singleElement().satisfies(f -> assertThat(f.statusCode()).isEqualTo(400));
                    dead.ack(m);
                }
            }
        }
    }

    private static KafkaProducer<byte[], byte[]> rawProducer() {
        return new KafkaProducer<>(Map.of("bootstrap.servers", TestKafka.bootstrapServers(),
                "key.serializer", ByteArraySerializer.class.getName(), "value.serializer", ByteArraySerializer.class.getName()));
    }
}
