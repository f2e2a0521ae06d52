package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.KafkaTransport;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The same workload through the raw Kafka client and through resq, in one run, in three phases:
 * (1) one thread sends N messages of about 200 bytes asynchronously (at most {@value #WINDOW}
 * unconfirmed, {@code acks=all}, each confirmed by the broker), nothing consuming; (2) one consumer
 * drains that backlog from the 3-partition topic and commits offsets (raw: {@code commitAsync}
 * after each poll; resq: a {@code Processor} with a no-op handler, concurrency 1), timed from the
 * first record to the last so that joining the group does not count; (3) producer and consumer
 * run together, giving end-to-end throughput and p50/p99 latency from send to handler. A third
 * side drives the transport SPI directly ({@code Sender}, {@code Receiver} poll and ack, no
 * envelope, no processor) to show which part of a gap is the transport's and which the core's.
 * A fourth, "raw+decode", is the raw client doing the useful work resq does: its producer writes
 * the same envelope JSON (and the same three headers) resq writes, and its consumer decodes each
 * body with Jackson, calls the same handler and commits after each poll; the plain raw side only
 * counts records, so it is the floor, not a fair opponent.
 * Each phase also prints the CPU time of the whole process per message (clients and, when
 * embedded, the broker) and the heap bytes allocated per message by all live threads (see
 * {@link Cost}): on a small machine the phases are CPU-bound and those figures explain them.
 *
 * <p>After the comparison, a failure scenario (skipped with a third argument of 0): a preloaded
 * topic of 10,000 records of which every tenth always fails; resq retries each failing call
 * twice more in process 10 ms apart and then dead-letters it (no redelivery), the raw client does
 * the same by hand (sleep, retry, produce to a dead-letter topic, flush before the commit).
 *
 * <p>Run: {@code benchmarks/run KafkaBenchmark 100000} (Kafka at {@code RESQ_KAFKA_BOOTSTRAP}, or an
 * embedded KRaft broker started in this JVM).
 * Numbers are for comparison within one run, not absolutes.
 */
public final class KafkaBenchmark {

    private static final int WINDOW = 5_000;
    private static final int PARTITIONS = 3;
    private static final int ROUNDS = 3;

    private KafkaBenchmark() {
    }

    /**
     * Args: [message count, default 100000] [resq processor concurrency, default 1]
     * [records in the failure scenario, default 10000, 0 skips it]
     * [sides, default {@code raw,decode,spi,resq}: a comma-separated subset, to profile one side alone].
     */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int failing = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        List<String> sides = List.of((args.length > 3 ? args[3] : String.join(",", LABELS.keySet())).split(","));
        for (String side : sides) {
            if (!LABELS.containsKey(side)) {
                throw new IllegalArgumentException("unknown side '" + side + "'; sides are " + LABELS.keySet());
            }
        }
        try (Brokers.Kafka kafka = Brokers.Kafka.start()) {
            String bootstrap = kafka.bootstrap();
            System.out.printf("Kafka benchmark: %,d messages of ~%d bytes, acks=all, %d partitions, 1 producer (async, window %d),"
                    + " 1 consumer (resq concurrency %d), best of %d alternating rounds, %s%n", n, TimedBody.SIZE, PARTITIONS, WINDOW,
                    concurrency, ROUNDS, kafka);
            // Warm-up, not measured: a full round per side. With the broker in this JVM the JIT
            // kept compiling broker and client code for several 100,000-message rounds (a third
            // of the CPU in a second round, measured), so after a short warm-up a round's figures
            // depended on how much compiling was still going on.
            for (String side : sides) {
                run(side(side, bootstrap, concurrency), n);
            }

            // Alternating rounds, best of each figure: a shared, loaded machine otherwise decides the ratio.
            Map<String, Result> best = new LinkedHashMap<>();
            for (int round = 0; round < ROUNDS; round++) {
                for (String side : sides) {
                    best.put(side, Result.best(best.get(side), run(side(side, bootstrap, concurrency), n)));
                }
            }
            best.forEach((side, r) -> print(LABELS.get(side), r));
            Result raw = best.get("raw");
            Result decode = best.get("decode");
            Result spi = best.get("spi");
            Result resq = best.get("resq");
            if (decode != null) {
                System.out.println("raw+decode: the raw producer writes resq's envelope JSON and headers; the raw consumer decodes"
                        + " every body with Jackson, calls the handler, commitAsync after each poll");
            }
            ratio("transport SPI/raw", spi, raw, " (the Kafka transport alone)");
            ratio("resq/raw", resq, raw, "");
            ratio("resq/raw+decode", resq, decode, "");
            if (failing > 0) {
                // One round per side after a short warm-up of each: a round is seconds of sleeping
                // retries (100 failing records x 2 x 10 ms per 1,000), not CPU.
                KafkaFailureScenario.raw(bootstrap, Math.min(failing, 1_000));
                KafkaFailureScenario.resq(bootstrap, Math.min(failing, 1_000));
                KafkaFailureScenario.Outcome fr = KafkaFailureScenario.raw(bootstrap, failing);
                KafkaFailureScenario.Outcome fq = KafkaFailureScenario.resq(bootstrap, failing);
                fr.print("raw+decode");
                fq.print("resq");
                System.out.printf("ratio resq/raw, 10%% failing: %.2f%n", fq.rate() / fr.rate());
            }
        }
    }

    /**
     * One phase's figures.
     *
     * @param rate    messages per second
     * @param cost    CPU time of this whole process per message (both clients and, when embedded, the
     *                broker; on a machine with few cores this is what bounds the rate) and heap bytes
     *                allocated per message
     */
    private record Phase(double rate, Cost.PerMessage cost) {
        static Phase better(Phase a, Phase b) {
            return b.rate > a.rate ? b : a;
        }
    }

    /** The three phases, and the end-to-end latency of the together phase. */
    private record Result(Phase send, Phase consume, Phase e2e, long p50Micros, long p99Micros) {
        static Result best(Result a, Result b) {
            if (a == null) {
                return b;
            }
            Result latency = b.e2e.rate > a.e2e.rate ? b : a;
            return new Result(Phase.better(a.send, b.send), Phase.better(a.consume, b.consume), latency.e2e,
                    latency.p50Micros, latency.p99Micros);
        }
    }

    /** The sides by their argument name, with the label printed for each. */
    private static final Map<String, String> LABELS = labels();

    private static Map<String, String> labels() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("raw", "raw Kafka");
        m.put("decode", "raw+decode");
        m.put("spi", "transport");
        m.put("resq", "resq");
        return m;
    }

    private static Side side(String name, String bootstrap, int concurrency) {
        return switch (name) {
            case "raw" -> new Raw(bootstrap);
            case "decode" -> new RawDecode(bootstrap);
            case "spi" -> new Spi(bootstrap);
            default -> new Resq(bootstrap, concurrency);
        };
    }

    private static void ratio(String name, Result a, Result b, String note) {
        if (a != null && b != null) {
            System.out.printf("ratio %s: send %.2f, consume %.2f, together %.2f%s%n", name,
                    a.send.rate / b.send.rate, a.consume.rate / b.consume.rate, a.e2e.rate / b.e2e.rate, note);
        }
    }

    private static void print(String name, Result r) {
        System.out.printf("%-10s send %,9.0f msg/s   consume %,9.0f msg/s   together %,9.0f msg/s   latency p50 %,7d us  p99 %,7d us%n",
                name, r.send.rate, r.consume.rate, r.e2e.rate, r.p50Micros, r.p99Micros);
        System.out.printf("%-10s per message (whole process): send %s   consume %s   together %s%n",
                "", r.send.cost.summary(), r.consume.cost.summary(), r.e2e.cost.summary());
        if (!r.consume.cost.byThread().isEmpty()) {
            System.out.printf("%-10s send, by thread:%s%n%-10s consume, by thread:%s%n%-10s together, by thread:%s%n",
                    "", r.send.cost.byThread(), "", r.consume.cost.byThread(), "", r.e2e.cost.byThread());
        }
    }

    /** One side of the comparison: how to send one message asynchronously, and how to consume a topic. */
    abstract static class Side implements AutoCloseable {
        final String bootstrap;

        Side(String bootstrap) {
            this.bootstrap = bootstrap;
        }

        /** Sends {@code body}; {@code done} gets {@code null} once the broker confirmed it, or the error. */
        abstract void send(String topic, String body, Consumer<Throwable> done);

        /** Starts consuming {@code topic}; every record's body goes to {@code onBody} on the consuming thread. */
        abstract AutoCloseable consume(String topic, Consumer<String> onBody) throws Exception;
    }

    /** Counts records, records their latency, and notes when the first and the last arrived. */
    static final class Counter implements Consumer<String> {
        final int n;
        final long[] latencies;
        final AtomicInteger received = new AtomicInteger();
        final AtomicLong first = new AtomicLong();
        final CountDownLatch done = new CountDownLatch(1);
        volatile long last;
        volatile Cost firstCost;
        volatile Cost lastCost;

        Counter(int n) {
            this.n = n;
            this.latencies = new long[n];
        }

        @Override
        public void accept(String body) {
            long now = System.nanoTime();
            int i = received.getAndIncrement();
            if (i == 0) {
                firstCost = Cost.now();
                first.set(now);
            }
            if (i < n) {
                latencies[i] = now - TimedBody.sentAt(body);
            }
            if (i == n - 1) {
                last = now;
                lastCost = Cost.now();
                done.countDown();
            }
        }

        /** Waits like {@link #await} and returns the cost per message from the first record to the last. */
        Cost.PerMessage awaitCost(String what) throws InterruptedException {
            await(what);
            return lastCost.since(firstCost, n);
        }

        void await(String what) throws InterruptedException {
            if (!done.await(300, TimeUnit.SECONDS)) {
                throw new IllegalStateException(what + " got " + received.get() + " of " + n);
            }
        }
    }

    private static Result run(Side side, int n) throws Exception {
        try (side) {
            String backlog = topic(side.bootstrap, "bench_backlog_");
            Cost cost = Cost.now();
            long start = System.nanoTime();
            sendAll(side, backlog, n);
            Phase send = new Phase(n / ((System.nanoTime() - start) / 1e9), Cost.now().since(cost, n));

            Counter drained = new Counter(n);
            Cost.PerMessage drainCost;
            try (AutoCloseable c = side.consume(backlog, drained)) {
                drainCost = drained.awaitCost(side.getClass().getSimpleName() + " draining");
            }
            Phase consume = new Phase((n - 1) / ((drained.last - drained.first.get()) / 1e9), drainCost);

            String together = topic(side.bootstrap, "bench_e2e_");
            Counter live = new Counter(n);
            Phase e2e;
            try (AutoCloseable c = side.consume(together, live)) {
                Thread.sleep(1000); // let the consumer join before the clock starts
                cost = Cost.now();
                start = System.nanoTime();
                sendAll(side, together, n);
                live.await(side.getClass().getSimpleName() + " end-to-end");
                e2e = new Phase(n / ((live.last - start) / 1e9), live.lastCost.since(cost, n));
            }
            return new Result(send, consume, e2e, TimedBody.percentileMicros(live.latencies, 0.50),
                    TimedBody.percentileMicros(live.latencies, 0.99));
        }
    }

    private static void sendAll(Side side, String topic, int n) throws InterruptedException {
        Semaphore window = new Semaphore(WINDOW);
        AtomicBoolean failed = new AtomicBoolean();
        for (int i = 0; i < n; i++) {
            window.acquire();
            side.send(topic, TimedBody.of(System.nanoTime()), e -> {
                if (e != null) {
                    failed.set(true);
                }
                window.release();
            });
        }
        window.acquire(WINDOW);
        if (failed.get()) {
            throw new IllegalStateException("a send to " + topic + " failed");
        }
    }

    static String topic(String bootstrap, String prefix) throws Exception {
        String topic = prefix + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        // Kafka acknowledges a creation before the partition leaders serve it, and an idempotent
        // producer writing a burst in that moment can lose a request to OutOfOrderSequenceException
        // (KAFKA-15591). The transport waits for the leaders of topics it creates; the raw side
        // does not, so give the new partitions a moment here for every side alike.
        Thread.sleep(1000);
        return topic;
    }

    /** The raw client: one producer; a consumer thread polling and committing asynchronously after each poll. */
    private static final class Raw extends Side {
        private KafkaProducer<String, String> producer;

        Raw(String bootstrap) {
            super(bootstrap);
        }

        @Override
        void send(String topic, String body, Consumer<Throwable> done) {
            if (producer == null) {
                producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "acks", "all",
                        "key.serializer", StringSerializer.class.getName(), "value.serializer", StringSerializer.class.getName()));
            }
            producer.send(new ProducerRecord<>(topic, body), (md, e) -> done.accept(e));
        }

        @Override
        AutoCloseable consume(String topic, Consumer<String> counter) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap, "group.id", "bench",
                        "enable.auto.commit", false, "auto.offset.reset", "earliest",
                        "key.deserializer", StringDeserializer.class.getName(), "value.deserializer", StringDeserializer.class.getName()))) {
                    c.subscribe(List.of(topic));
                    while (!stop.get()) {
                        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                            counter.accept(r.value());
                        }
                        c.commitAsync();
                    }
                    c.commitSync();
                }
            }, "bench-raw-consumer");
            t.start();
            return () -> {
                stop.set(true);
                t.join();
            };
        }

        @Override
        public void close() {
            if (producer != null) {
                producer.close();
            }
        }
    }

    /**
     * The raw client doing resq's useful work: the producer sends resq's envelope JSON with the
     * three headers resq's transport adds (id, attempt, format); the consumer decodes each body
     * into {@link EnvelopeJson} with Jackson, calls the handler (the same one resq's processor
     * calls), counts a failing handler instead of dying, and commits asynchronously after each poll.
     */
    static final class RawDecode extends Side {
        private static final byte[] ATTEMPT = "1".getBytes(StandardCharsets.UTF_8);
        private static final byte[] FORMAT = "envelope".getBytes(StandardCharsets.UTF_8);
        private final Map<String, Object> producerSettings;
        private KafkaProducer<byte[], byte[]> producer;
        final AtomicLong failures = new AtomicLong();

        RawDecode(String bootstrap) {
            this(bootstrap, Map.of("bootstrap.servers", bootstrap, "acks", "all"));
        }

        /** @param producerSettings the producer's settings (with bootstrap.servers); the serializers are added here */
        RawDecode(String bootstrap, Map<String, Object> producerSettings) {
            super(bootstrap);
            this.producerSettings = producerSettings;
        }

        KafkaProducer<byte[], byte[]> producer() {
            if (producer == null) {
                Map<String, Object> settings = new HashMap<>(producerSettings);
                settings.put("key.serializer", ByteArraySerializer.class.getName());
                settings.put("value.serializer", ByteArraySerializer.class.getName());
                producer = new KafkaProducer<>(settings);
            }
            return producer;
        }

        /** The record resq's transport would send for {@code body} on {@code topic}. */
        static ProducerRecord<byte[], byte[]> record(String topic, String body) {
            EnvelopeJson envelope = EnvelopeJson.of(topic, body);
            ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, envelope.toBytes());
            r.headers().add("resq-attempt", ATTEMPT).add("resq-format", FORMAT)
                    .add("resq-id", envelope.id().getBytes(StandardCharsets.UTF_8));
            return r;
        }

        @Override
        void send(String topic, String body, Consumer<Throwable> done) {
            producer().send(record(topic, body), (md, e) -> done.accept(e));
        }

        @Override
        AutoCloseable consume(String topic, Consumer<String> counter) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap, "group.id", "bench",
                        "enable.auto.commit", false, "auto.offset.reset", "earliest",
                        "key.deserializer", ByteArrayDeserializer.class.getName(), "value.deserializer", ByteArrayDeserializer.class.getName()))) {
                    c.subscribe(List.of(topic));
                    while (!stop.get()) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                            try {
                                counter.accept(EnvelopeJson.read(r.value()).payload());
                            } catch (Exception e) {
                                failures.incrementAndGet();
                            }
                        }
                        c.commitAsync();
                    }
                    c.commitSync();
                }
            }, "bench-raw-decode-consumer");
            t.start();
            return () -> {
                stop.set(true);
                t.join();
            };
        }

        @Override
        public void close() {
            if (producer != null) {
                producer.close();
            }
        }
    }

    /** The transport SPI: Sender; a thread polling the Receiver and acking each delivery. */
    private static final class Spi extends Side {
        private final KafkaTransport transport;
        private final Map<String, Sender> senders = new ConcurrentHashMap<>();

        Spi(String bootstrap) {
            super(bootstrap);
            transport = KafkaTransport.builder(Map.of("bootstrap.servers", bootstrap, "acks", "all")).topicPartitions(PARTITIONS).build();
        }

        @Override
        void send(String topic, String body, Consumer<Throwable> done) {
            Sender sender = senders.computeIfAbsent(topic, transport::sender);
            sender.send(Outbound.of(UUID.randomUUID().toString(), body.getBytes(StandardCharsets.UTF_8))).whenComplete((v, e) -> done.accept(e));
        }

        @Override
        AutoCloseable consume(String topic, Consumer<String> counter) {
            Receiver r = transport.receiver(topic, new ReceiverOptions("bench", 16));
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        for (Delivery d : r.poll(16, Duration.ofMillis(100))) {
                            counter.accept(new String(d.body(), StandardCharsets.UTF_8));
                            d.ack();
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-spi-consumer");
            t.start();
            return () -> {
                stop.set(true);
                t.join();
                r.close();
            };
        }

        @Override
        public void close() {
            transport.close();
        }
    }

    /** resq: Enqueue.sendAsync; a Processor with a handler that only counts. */
    private static final class Resq extends Side {
        private final Queues queues;
        private final int concurrency;
        private final Map<String, Enqueue<String>> enqueues = new ConcurrentHashMap<>();

        Resq(String bootstrap, int concurrency) {
            super(bootstrap);
            this.concurrency = concurrency;
            queues = Queues.builder(KafkaTransport.builder(Map.of("bootstrap.servers", bootstrap, "acks", "all"))
                    .topicPartitions(PARTITIONS).build()).envelopeMode(BenchEnvelope.MODE).build();
        }

        @Override
        void send(String topic, String body, Consumer<Throwable> done) {
            enqueues.computeIfAbsent(topic, q -> queues.enqueue(q, String.class)).sendAsync(body).whenComplete((m, e) -> done.accept(e));
        }

        @Override
        AutoCloseable consume(String topic, Consumer<String> counter) {
            Processor<String> p = BenchPrefetch.apply(queues.processor(topic, String.class)).group("bench").concurrency(concurrency)
                    .retry(RetryPolicy.none())
                    .handler(counter::accept)
                    .start();
            return p::close;
        }

        @Override
        public void close() {
            queues.close();
        }
    }
}
