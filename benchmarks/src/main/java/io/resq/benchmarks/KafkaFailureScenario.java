package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Failure;
import io.resq.Listener;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorBuilder;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.KafkaTransport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka with a handler that fails for every tenth record, always. Both sides get the same
 * preloaded topic contents (resq's envelope), one consumer, one handler at a time, and the same
 * policy: three calls 10 ms apart, then the record goes to a dead-letter topic, confirmed by the
 * broker before the consumer moves past it. resq: {@code retry(RetryPolicy.fixed(10 ms).maxAttempts(3))},
 * {@code redelivery(RetryPolicy.none())}, its default dead-letter queue. The raw client: the same
 * loop by hand ({@code Thread.sleep}, {@code producer.send(...).get()} to the dead-letter topic,
 * {@code commitAsync} after each poll). Timed from the first handler call until every record has
 * either succeeded or been dead-lettered. The sleeps alone are 2 × 10 ms per failing record, so
 * this measures whether the failure path adds anything beyond the policy's own waiting.
 *
 * <p>With {@link Policy#BROKER} (resq only) the failing records are not retried in process but
 * redelivered through the broker: one call per delivery, two redelivery copies 10 ms apart, then the
 * dead-letter queue, so three calls and three confirmed copies per failing record and no sleeping
 * on the worker: this measures the failure path itself.
 *
 * <p>Run on its own: {@code benchmarks/run KafkaFailureScenario 10000 broker resq 2} (see
 * {@link FailureRuns} for the arguments), with the embedded broker of the transport's tests unless
 * {@code RESQ_KAFKA_BOOTSTRAP} names one.
 */
final class KafkaFailureScenario {

    static final Duration BACKOFF = Duration.ofMillis(10);
    static final int ATTEMPTS = 3;
    private static final Logger LOG = LoggerFactory.getLogger(KafkaFailureScenario.class);

    private KafkaFailureScenario() {
    }

    /** Args: see {@link FailureRuns#run}. */
    public static void main(String[] args) throws Exception {
        try (Brokers.Kafka kafka = Brokers.Kafka.start()) {
            String bootstrap = kafka.bootstrap();
            FailureRuns.run("Kafka at " + kafka + ", acks=all, 3 partitions", args,
                    n -> raw(bootstrap, n), (n, policy) -> resq(bootstrap, n, policy));
        }
    }

    /** How the failing messages are tried again. */
    enum Policy {
        /** Three calls {@code BACKOFF} apart on the worker, no redelivery, then the dead-letter queue. */
        IN_PROCESS,
        /** One call per delivery, redelivered through the broker {@code BACKOFF} later, three deliveries, then the dead-letter queue. */
        BROKER;

        static Policy parse(String arg) {
            return switch (arg) {
                case "in-process" -> IN_PROCESS;
                case "broker" -> BROKER;
                default -> throw new IllegalArgumentException("policy must be in-process or broker, was " + arg);
            };
        }

        String describe() {
            return this == IN_PROCESS ? "retry fixed " + BACKOFF.toMillis() + " ms x " + ATTEMPTS + ", no redelivery"
                    : "no retry, redelivery fixed " + BACKOFF.toMillis() + " ms x " + ATTEMPTS;
        }
    }

    /**
     * @param n            records
     * @param succeeded    records the handler took
     * @param deadLettered records in the dead-letter topic
     * @param nanos        first handler call to the last record settled
     * @param okNanos      first handler call to the last of the records that do not fail succeeded
     * @param cost         per record, over the same span
     */
    record Outcome(int n, int succeeded, int deadLettered, long nanos, long okNanos, Cost.PerMessage cost) {
        double rate() {
            return n / (nanos / 1e9);
        }

        void print(String name) {
            System.out.printf("%-10s 10%% failing: %,d records (%,d ok, %,d dead-lettered) in %,.0f ms = %,.0f msg/s (the last ok one after"
                    + " %,.0f ms)   per message: %s%n", name, n, succeeded, deadLettered, nanos / 1e6, rate(), okNanos / 1e6, cost);
        }
    }

    /** The records' bodies carry their index instead of a send time; every tenth fails. */
    static boolean fails(String body) {
        return TimedBody.sentAt(body) % 10 == 0;
    }

    static void handle(String body) {
        if (fails(body)) {
            throw new IllegalStateException("this record always fails");
        }
    }

    /** {@link #startFailingProcessor(Queues, String, Tally, Policy)} with {@link Policy#IN_PROCESS}. */
    static Processor<String> startFailingProcessor(Queues queues, String queue, Tally tally) {
        return startFailingProcessor(queues, queue, tally, Policy.IN_PROCESS);
    }

    /**
     * The resq side of the scenario on any transport: {@value #ATTEMPTS} calls {@code BACKOFF} apart,
     * in process or through the broker as {@code policy} says, then the dead-letter queue; one
     * handler at a time; settles counted in {@code tally}.
     */
    static Processor<String> startFailingProcessor(Queues queues, String queue, Tally tally, Policy policy) {
        boolean inProcess = policy == Policy.IN_PROCESS;
        // Copies in flight hold their prefetch slots, so the window (BenchPrefetch) bounds how many
        // failures can wait for the broker at once.
        ProcessorBuilder<String> b = BenchPrefetch.apply(queues.processor(queue, String.class));
        return b.group("bench").concurrency(1)
                .retry(inProcess ? RetryPolicy.fixed(BACKOFF).maxAttempts(ATTEMPTS) : RetryPolicy.none())
                .redelivery(inProcess ? RetryPolicy.none() : RetryPolicy.fixed(BACKOFF).maxAttempts(ATTEMPTS))
                .listener(new Listener() {
                    @Override
                    public void onSucceeded(Msg<?> msg, Duration duration) {
                        tally.settled(tally.ok);
                    }

                    @Override
                    public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
                        tally.settled(tally.dead);
                    }
                })
                .handler(body -> {
                    tally.starting();
                    handle(body);
                })
                .start();
    }

    static final class Tally {
        final int n;
        final AtomicInteger ok = new AtomicInteger();
        final AtomicInteger dead = new AtomicInteger();
        final AtomicBoolean started = new AtomicBoolean();
        final CountDownLatch done = new CountDownLatch(1);
        volatile long first;
        volatile long last;
        /** When the last record that does not fail succeeded: the rest of the span is the failing ones' redeliveries. */
        volatile long lastOk;
        volatile Cost firstCost;
        volatile Cost lastCost;

        Tally(int n) {
            this.n = n;
        }

        void starting() {
            if (started.compareAndSet(false, true)) {
                firstCost = Cost.now();
                first = System.nanoTime();
            }
        }

        void settled(AtomicInteger which) {
            int now = which.incrementAndGet();
            if (which == ok && now == n - n / 10) {
                lastOk = System.nanoTime();
            }
            if (ok.get() + dead.get() == n && done.getCount() > 0) {
                last = System.nanoTime();
                lastCost = Cost.now();
                done.countDown();
            }
        }

        Outcome await(String what) throws InterruptedException {
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException(what + ": " + ok.get() + " ok and " + dead.get() + " dead-lettered of " + n);
            }
            return new Outcome(n, ok.get(), dead.get(), last - first, lastOk == 0 ? 0 : lastOk - first, lastCost.since(firstCost, n));
        }
    }

    static Outcome raw(String bootstrap, int n) throws Exception {
        String topic = KafkaBenchmark.topic(bootstrap, "bench_fail_raw_");
        String deadLetters = KafkaBenchmark.topic(bootstrap, "bench_fail_raw_dlq_");
        Tally tally = new Tally(n);
        try (KafkaBenchmark.RawDecode side = new KafkaBenchmark.RawDecode(bootstrap)) {
            KafkaProducer<byte[], byte[]> producer = side.producer();
            for (int i = 0; i < n; i++) {
                producer.send(KafkaBenchmark.RawDecode.record(topic, TimedBody.of(i)));
            }
            producer.flush();
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap, "group.id", "bench",
                        "enable.auto.commit", false, "auto.offset.reset", "earliest",
                        "key.deserializer", ByteArrayDeserializer.class.getName(), "value.deserializer", ByteArrayDeserializer.class.getName()))) {
                    c.subscribe(List.of(topic));
                    while (!stop.get()) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                            tally.starting();
                            settle(r, producer, deadLetters, tally);
                        }
                        c.commitAsync();
                    }
                    c.commitSync();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-raw-failing-consumer");
            t.start();
            try {
                return tally.await("raw, 10% failing");
            } finally {
                stop.set(true);
                t.join();
            }
        }
    }

    /** The hand-written failure path: up to three calls, then the dead-letter topic, confirmed. */
    private static void settle(ConsumerRecord<byte[], byte[]> r, KafkaProducer<byte[], byte[]> producer, String deadLetters, Tally tally)
            throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                handle(EnvelopeJson.read(r.value()).payload());
                tally.settled(tally.ok);
                return;
            } catch (Exception e) {
                if (attempt < ATTEMPTS) {
                    LOG.info("retrying offset {} of {} after attempt {} failed ({}), next in {} ms", r.offset(), r.topic(), attempt,
                            e.getMessage(), BACKOFF.toMillis());
                    Thread.sleep(BACKOFF.toMillis());
                    continue;
                }
                // A real consumer would add the error to the record; the header keeps that cost in view.
                ProducerRecord<byte[], byte[]> dead = new ProducerRecord<>(deadLetters, null, r.key(), r.value(), r.headers());
                dead.headers().add("error", String.valueOf(e.getMessage()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                try {
                    producer.send(dead).get(30, TimeUnit.SECONDS);
                } catch (Exception sendFailed) {
                    throw new IllegalStateException("dead-letter send failed", sendFailed);
                }
                // Logged as resq's default listener logs retries and dead letters (one line each, no
                // stack trace), so that both sides pay for the same output.
                LOG.error("dead-lettered offset {} of {} to {} after {} calls (last: {})", r.offset(), r.topic(), deadLetters, attempt,
                        e.getMessage());
                tally.settled(tally.dead);
                return;
            }
        }
    }

    static Outcome resq(String bootstrap, int n) throws Exception {
        return resq(bootstrap, n, Policy.IN_PROCESS);
    }

    static Outcome resq(String bootstrap, int n, Policy policy) throws Exception {
        String topic = KafkaBenchmark.topic(bootstrap, "bench_fail_resq_");
        Tally tally = new Tally(n);
        try (Queues queues = Queues.using(KafkaTransport.builder(Map.of("bootstrap.servers", bootstrap, "acks", "all"))
                .topicPartitions(3).build())) {
            Enqueue<String> out = queues.enqueue(topic, String.class);
            List<CompletableFuture<Msg<String>>> sent = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                sent.add(out.sendAsync(TimedBody.of(i)));
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
            Processor<String> p = startFailingProcessor(queues, topic, tally, policy);
            try {
                return tally.await("resq, 10% failing");
            } finally {
                p.close();
            }
        }
    }
}
