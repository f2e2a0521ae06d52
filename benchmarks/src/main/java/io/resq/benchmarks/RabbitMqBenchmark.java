package io.resq.benchmarks;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.rabbitmq.QueueType;
import io.resq.rabbitmq.RabbitMqTransport;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The same workload through the raw amqp-client and through resq, in one run: one producer thread
 * sends N persistent messages of about 200 bytes one at a time, each send waiting for its
 * publisher confirm (mandatory publish), while one consumer with prefetch 16 acks each message
 * (manual acks). Both use a durable queue of the same type (quorum unless told otherwise). Prints
 * send throughput, end-to-end throughput, the resq/raw ratios and p50/p99 end-to-end latency (send
 * start to handler). The two alternate in rounds (4 by default) so that outside load hits both alike.
 *
 * <p>Run: {@code mvn -q -pl benchmarks exec:java -Dexec.mainClass=io.resq.benchmarks.RabbitMqBenchmark -Dexec.args="100000 quorum"}
 * (RabbitMQ at {@code RESQ_RABBITMQ_URI} or 127.0.0.1:5672). Numbers compare within one run; they are not absolutes.
 */
public final class RabbitMqBenchmark {

    private static final int PREFETCH = 16;

    private RabbitMqBenchmark() {
    }

    /** Args: [message count per path, default 100000] [quorum|classic, default quorum] [rounds, default 4]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        QueueType type = args.length > 1 ? QueueType.valueOf(args[1].toUpperCase()) : QueueType.QUORUM;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(System.getenv().getOrDefault("RESQ_RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2F"));
        System.out.printf("RabbitMQ benchmark: %,d persistent messages of ~%d bytes, %s queues, 1 producer (one confirmed send at a time), "
                + "1 consumer (prefetch %d, ack per message), %s:%d%n", n, TimedBody.SIZE, type, PREFETCH, factory.getHost(), factory.getPort());

        // Warm up both paths so that JIT compilation does not bias the first measurement.
        raw(factory, type, Math.min(n, 5_000));
        resq(factory, type, Math.min(n, 5_000));

        // Alternate the two in rounds, so that load from other processes on the machine hits both alike.
        int per = Math.max(1, n / rounds);
        Result raw = null;
        Result resq = null;
        for (int r = 0; r < rounds; r++) {
            raw = Result.merge(raw, raw(factory, type, per));
            resq = Result.merge(resq, resq(factory, type, per));
        }
        print("raw client", raw);
        print("resq", resq);
        System.out.printf("ratio resq/raw: send %.2f, end-to-end %.2f%n", resq.sendRate() / raw.sendRate(), resq.e2eRate() / raw.e2eRate());
    }

    /** One measurement: n messages, the send and end-to-end durations, every message's latency. */
    private record Result(int n, long sendNanos, long e2eNanos, long[] latencies) {

        static Result merge(Result a, Result b) {
            if (a == null) {
                return b;
            }
            long[] all = Arrays.copyOf(a.latencies, a.latencies.length + b.latencies.length);
            System.arraycopy(b.latencies, 0, all, a.latencies.length, b.latencies.length);
            return new Result(a.n + b.n, a.sendNanos + b.sendNanos, a.e2eNanos + b.e2eNanos, all);
        }

        double sendRate() {
            return n / (sendNanos / 1e9);
        }

        double e2eRate() {
            return n / (e2eNanos / 1e9);
        }

        long percentileMicros(double p) {
            return TimedBody.percentileMicros(latencies, p);
        }
    }

    private static void print(String name, Result r) {
        System.out.printf("%-10s %,d msgs  send %,9.0f msg/s   end-to-end %,9.0f msg/s   latency p50 %,8d us  p99 %,8d us%n",
                name, r.n(), r.sendRate(), r.e2eRate(), r.percentileMicros(0.50), r.percentileMicros(0.99));
    }



    private static Result raw(ConnectionFactory factory, QueueType type, int n) throws Exception {
        String queue = "bench_raw_" + UUID.randomUUID();
        long[] latencies = new long[n];
        AtomicInteger received = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        try (Connection pub = factory.newConnection("bench-raw-publisher"); Connection sub = factory.newConnection("bench-raw-consumer")) {
            Channel out = pub.createChannel();
            out.queueDeclare(queue, true, false, false, Map.of("x-queue-type", type.name().toLowerCase()));
            out.confirmSelect();
            Channel in = sub.createChannel();
            in.basicQos(PREFETCH);
            in.basicConsume(queue, false, new DefaultConsumer(in) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) throws java.io.IOException {
                    int i = received.getAndIncrement();
                    latencies[i] = System.nanoTime() - TimedBody.sentAt(new String(body, StandardCharsets.UTF_8));
                    getChannel().basicAck(envelope.getDeliveryTag(), false);
                    if (i == n - 1) {
                        done.countDown();
                    }
                }
            });
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                        .messageId(UUID.randomUUID().toString()).deliveryMode(2).build();
                out.basicPublish("", queue, true, props, TimedBody.of(System.nanoTime()).getBytes(StandardCharsets.UTF_8));
                out.waitForConfirmsOrDie(30_000);
            }
            long sendNanos = System.nanoTime() - start;
            done.await(10, TimeUnit.MINUTES);
            long e2eNanos = System.nanoTime() - start;
            out.queueDelete(queue);
            return result(n, sendNanos, e2eNanos, latencies);
        }
    }

    private static Result resq(ConnectionFactory factory, QueueType type, int n) throws Exception {
        String queue = "bench_resq_" + UUID.randomUUID();
        long[] latencies = new long[n];
        AtomicInteger received = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        RabbitMqTransport transport = RabbitMqTransport.builder(factory).queueType(type).connectionName("bench-resq").build();
        try (Queues queues = Queues.using(transport)) {
            Processor<String> p = queues.processor(queue, String.class)
                    .concurrency(1)
                    .prefetch(PREFETCH)
                    .retry(RetryPolicy.none())
                    .handler(s -> {
                        int i = received.getAndIncrement();
                        latencies[i] = System.nanoTime() - TimedBody.sentAt(s);
                        if (i == n - 1) {
                            done.countDown();
                        }
                    })
                    .start();
            Enqueue<String> out = queues.enqueue(queue, String.class);
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                out.send(TimedBody.of(System.nanoTime()));
            }
            long sendNanos = System.nanoTime() - start;
            done.await(10, TimeUnit.MINUTES);
            long e2eNanos = System.nanoTime() - start;
            p.close();
            deleteQueues(factory, queue, queue + "_deadletter");
            return result(n, sendNanos, e2eNanos, latencies);
        }
    }

    private static void deleteQueues(ConnectionFactory factory, String... queues) throws Exception {
        try (Connection c = factory.newConnection("bench-cleanup"); Channel ch = c.createChannel()) {
            for (String q : queues) {
                ch.queueDelete(q);
            }
        }
    }

    private static Result result(int n, long sendNanos, long e2eNanos, long[] latencies) {
        return new Result(n, sendNanos, e2eNanos, latencies);
    }
}
