package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.KafkaTransport;
import io.resq.kafka.testing.EmbeddedKafka;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The same workload through the raw Kafka client and through resq, in one run: one producer
 * thread sends N messages of about 200 bytes asynchronously (at most {@value #WINDOW} unconfirmed,
 * {@code acks=all}, each confirmed by the broker), while one consumer reads them from a 3-partition
 * topic and commits offsets: the raw consumer with {@code commitAsync} after each poll, resq with a
 * {@code Processor} whose handler does nothing. A third row drives the transport SPI directly
 * ({@code Sender}, {@code Receiver} poll and ack, no envelope, no processor) to show which part of
 * any gap is the transport's and which the core's. Prints send throughput, end-to-end throughput, the
 * resq/raw ratios and p50/p99 end-to-end latency (send start to handler).
 *
 * <p>Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.resq.benchmarks.KafkaBenchmark -Dexec.args="100000"}
 * (Kafka at {@code RESQ_KAFKA_BOOTSTRAP}, or an embedded KRaft broker started in this JVM).
 * Numbers are for comparison within one run, not absolutes.
 */
public final class KafkaBenchmark {

    private static final int WINDOW = 5_000;
    private static final int PARTITIONS = 3;
    private static final int ROUNDS = 2;

    private KafkaBenchmark() {
    }

    /** Args: [message count, default 100000] [resq processor concurrency, default 1]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String external = System.getenv("RESQ_KAFKA_BOOTSTRAP");
        EmbeddedKafka embedded = external == null || external.isBlank() ? EmbeddedKafka.start() : null;
        String bootstrap = embedded != null ? embedded.bootstrapServers() : external;
        try {
            System.out.printf("Kafka benchmark: %,d messages of ~%d bytes, acks=all, %d partitions, 1 producer (async, window %d),"
                    + " 1 consumer (resq concurrency %d), best of %d alternating rounds, %s%s%n", n, TimedBody.SIZE, PARTITIONS, WINDOW, concurrency, ROUNDS, bootstrap,
                    embedded != null ? " (embedded broker in this JVM)" : "");
            raw(bootstrap, Math.min(n, 20_000));
            spi(bootstrap, Math.min(n, 20_000));
            resq(bootstrap, Math.min(n, 20_000), concurrency);

            // Alternating rounds, best of each: a shared, loaded machine otherwise decides the ratio.
            Result raw = null;
            Result spi = null;
            Result resq = null;
            for (int round = 0; round < ROUNDS; round++) {
                raw = best(raw, raw(bootstrap, n));
                spi = best(spi, spi(bootstrap, n));
                resq = best(resq, resq(bootstrap, n, concurrency));
            }
            print("raw Kafka", raw);
            print("transport", spi);
            print("resq", resq);
            System.out.printf("ratio transport SPI/raw: send %.2f, end-to-end %.2f (the Kafka transport alone, no envelope or processor)%n",
                    spi.sendRate / raw.sendRate, spi.e2eRate / raw.e2eRate);
            System.out.printf("ratio resq/raw: send %.2f, end-to-end %.2f%n", resq.sendRate / raw.sendRate, resq.e2eRate / raw.e2eRate);
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    private record Result(double sendRate, double e2eRate, long p50Micros, long p99Micros) {
    }

    private static Result best(Result a, Result b) {
        return a == null || b.e2eRate > a.e2eRate ? b : a;
    }

    private static void print(String name, Result r) {
        System.out.printf("%-10s send %,10.0f msg/s   end-to-end %,10.0f msg/s   latency p50 %,7d us  p99 %,7d us%n",
                name, r.sendRate, r.e2eRate, r.p50Micros, r.p99Micros);
    }



    private static Result raw(String bootstrap, int n) throws Exception {
        String topic = "bench_raw_" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        long[] latencies = new long[n];
        AtomicInteger received = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Thread consumer = new Thread(() -> {
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap, "group.id", "bench",
                    "enable.auto.commit", false, "auto.offset.reset", "earliest",
                    "key.deserializer", StringDeserializer.class.getName(), "value.deserializer", StringDeserializer.class.getName()))) {
                c.subscribe(List.of(topic));
                while (!stop.get() && received.get() < n) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                        int i = received.getAndIncrement();
                        if (i < n) {
                            latencies[i] = System.nanoTime() - TimedBody.sentAt(r.value());
                        }
                    }
                    c.commitAsync();
                }
                c.commitSync();
            }
            done.countDown();
        }, "bench-raw-consumer");
        consumer.start();
        Thread.sleep(1000); // let the consumer join before the clock starts
        long start = System.nanoTime();
        long sent;
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "acks", "all",
                "key.serializer", StringSerializer.class.getName(), "value.serializer", StringSerializer.class.getName()))) {
            Semaphore window = new Semaphore(WINDOW);
            for (int i = 0; i < n; i++) {
                window.acquire();
                p.send(new ProducerRecord<>(topic, TimedBody.of(System.nanoTime())), (md, e) -> window.release());
            }
            window.acquire(WINDOW);
            sent = System.nanoTime();
        }
        if (!done.await(300, TimeUnit.SECONDS)) {
            stop.set(true);
            throw new IllegalStateException("raw consumer got " + received.get() + " of " + n);
        }
        long end = System.nanoTime();
        return result(n, start, sent, end, latencies);
    }

    private static Result spi(String bootstrap, int n) throws Exception {
        String topic = "bench_spi_" + UUID.randomUUID().toString().substring(0, 8);
        long[] latencies = new long[n];
        AtomicInteger received = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        try (KafkaTransport t = KafkaTransport.builder(Map.of("bootstrap.servers", bootstrap, "acks", "all"))
                .topicPartitions(PARTITIONS).build()) {
            Receiver r = t.receiver(topic, new ReceiverOptions("bench", 16));
            Thread consumer = new Thread(() -> {
                try {
                    while (received.get() < n) {
                        for (Delivery d : r.poll(16, Duration.ofMillis(100))) {
                            int i = received.getAndIncrement();
                            if (i < n) {
                                latencies[i] = System.nanoTime() - TimedBody.sentAt(new String(d.body(), StandardCharsets.UTF_8));
                            }
                            d.ack();
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                done.countDown();
            }, "bench-spi-consumer");
            consumer.start();
            Sender sender = t.sender(topic);
            Thread.sleep(1000); // let the consumer join before the clock starts
            long start = System.nanoTime();
            Semaphore window = new Semaphore(WINDOW);
            for (int i = 0; i < n; i++) {
                window.acquire();
                sender.send(Outbound.of(UUID.randomUUID().toString(), TimedBody.of(System.nanoTime()).getBytes(StandardCharsets.UTF_8)))
                        .whenComplete((v, e) -> window.release());
            }
            window.acquire(WINDOW);
            long sent = System.nanoTime();
            if (!done.await(300, TimeUnit.SECONDS)) {
                throw new IllegalStateException("transport receiver got " + received.get() + " of " + n);
            }
            long end = System.nanoTime();
            r.close();
            return result(n, start, sent, end, latencies);
        }
    }

    private static Result resq(String bootstrap, int n, int concurrency) throws Exception {
        String topic = "bench_resq_" + UUID.randomUUID().toString().substring(0, 8);
        long[] latencies = new long[n];
        AtomicInteger received = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        try (Queues queues = Queues.using(KafkaTransport.builder(Map.of("bootstrap.servers", bootstrap, "acks", "all"))
                .topicPartitions(PARTITIONS).build())) {
            Processor<String> p = queues.processor(topic, String.class).group("bench").concurrency(concurrency)
                    .retry(RetryPolicy.none())
                    .handler(body -> {
                        int i = received.getAndIncrement();
                        if (i < n) {
                            latencies[i] = System.nanoTime() - TimedBody.sentAt(body);
                        }
                        if (i == n - 1) {
                            done.countDown();
                        }
                    })
                    .start();
            Enqueue<String> out = queues.enqueue(topic, String.class);
            Thread.sleep(1000); // let the consumer join before the clock starts
            long start = System.nanoTime();
            Semaphore window = new Semaphore(WINDOW);
            for (int i = 0; i < n; i++) {
                window.acquire();
                CompletableFuture<Msg<String>> f = out.sendAsync(TimedBody.of(System.nanoTime()));
                f.whenComplete((m, e) -> window.release());
            }
            window.acquire(WINDOW);
            long sent = System.nanoTime();
            if (!done.await(300, TimeUnit.SECONDS)) {
                throw new IllegalStateException("resq processor got " + received.get() + " of " + n);
            }
            long end = System.nanoTime();
            p.close();
            return result(n, start, sent, end, latencies);
        }
    }

    private static Result result(int n, long start, long sent, long end, long[] latencies) {
        return new Result(n / ((sent - start) / 1e9), n / ((end - start) / 1e9),
                TimedBody.percentileMicros(latencies, 0.50), TimedBody.percentileMicros(latencies, 0.99));
    }
}
