package io.resq.benchmarks;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmCallback;
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
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The same workload through the raw amqp-client and through resq, in one run: one producer thread
 * sends N persistent messages of about 200 bytes one at a time, each send waiting for its
 * publisher confirm (mandatory publish), while one consumer with prefetch 16 acks each message
 * (manual acks). Both use a durable queue of the same type (quorum unless told otherwise). Prints
 * send throughput, end-to-end throughput, the resq/raw ratios and p50/p99 end-to-end latency (send
 * start to handler). The two alternate in rounds (4 by default) so that outside load hits both alike.
 * Those are latency figures: one confirm round trip per message.
 *
 * <p>Then the throughput figures, in {@value #PIPELINED_ROUNDS} alternating rounds per side: the
 * producer publishes N messages with up to {@value #WINDOW} unconfirmed (raw: a
 * {@code ConfirmListener} releasing a window as confirms arrive, single or multiple; resq:
 * {@code sendAsync} with the same window of outstanding futures), nothing consuming; then one
 * consumer drains that backlog with a broker prefetch of {@value #BACKLOG_PREFETCH}, acking each
 * message (raw: {@code basicAck} per delivery; resq: a {@code Processor}, concurrency 1, same
 * prefetch). Every phase prints the process's CPU time and heap allocation per message
 * ({@link Cost}); the broker runs in its own process and is not in those figures. The raw side
 * runs twice: publishing and reading the bare 200-byte body (the floor), and as raw+envelope,
 * doing resq's useful work by hand (the envelope JSON and resq's properties on publish, decoding
 * each body on drain), the fair baseline.
 *
 * <p>Run: {@code benchmarks/run RabbitMqBenchmark 100000 quorum} (RabbitMQ at {@code RESQ_RABBITMQ_URI},
 * or the local service on 127.0.0.1:5672, which the script starts if it does not answer). Numbers
 * compare within one run; they are not absolutes.
 */
public final class RabbitMqBenchmark {

    private static final int PREFETCH = 16;
    /** Unconfirmed publishes at most in the throughput phase. */
    private static final int WINDOW = 1_000;
    /** The broker's prefetch (basic.qos) when draining a backlog. */
    private static final int BACKLOG_PREFETCH = 100;
    private static final int PIPELINED_ROUNDS = 2;

    private RabbitMqBenchmark() {
    }

    /** Args: [message count per path, default 100000] [quorum|classic, default quorum] [rounds, default 4]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        QueueType type = args.length > 1 ? QueueType.valueOf(args[1].toUpperCase()) : QueueType.QUORUM;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        ConnectionFactory factory = Brokers.rabbitMq();
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

        System.out.printf("Throughput: %,d messages per round, publish window %,d unconfirmed, then drain with prefetch %d%n",
                n, WINDOW, BACKLOG_PREFETCH);
        rawPipelined(factory, type, Math.min(n, 5_000), false);
        rawPipelined(factory, type, Math.min(n, 5_000), true);
        resqPipelined(factory, type, Math.min(n, 5_000));
        for (int r = 0; r < PIPELINED_ROUNDS; r++) {
            Pipelined pr = rawPipelined(factory, type, n, false);
            Pipelined pe = rawPipelined(factory, type, n, true);
            Pipelined pq = resqPipelined(factory, type, n);
            pr.print("raw client");
            pe.print("raw+envelope");
            pq.print("resq");
            System.out.printf("ratio resq/raw: pipelined send %.2f, drain %.2f; resq/raw+envelope: pipelined send %.2f, drain %.2f%n",
                    pq.sendRate / pr.sendRate, pq.drainRate / pr.drainRate, pq.sendRate / pe.sendRate, pq.drainRate / pe.drainRate);
        }
    }

    /** A throughput round: publish rate with a window of confirms, and drain rate of that backlog, with their costs. */
    private record Pipelined(double sendRate, Cost.PerMessage sendCost, double drainRate, Cost.PerMessage drainCost) {
        void print(String name) {
            System.out.printf("%-10s pipelined send %,9.0f msg/s (%s)   drain %,9.0f msg/s (%s)%n", name, sendRate, sendCost, drainRate, drainCost);
        }
    }

    /**
     * The raw client's throughput round. With {@code envelope} it does resq's useful work by hand:
     * each publish carries resq's envelope JSON ({@link EnvelopeJson}) with the properties resq
     * sets (message id, persistent, timestamp, the format and attempt headers), and the drain
     * decodes every body back into its payload; without, it moves the bare body (the floor).
     */
    private static Pipelined rawPipelined(ConnectionFactory factory, QueueType type, int n, boolean envelope) throws Exception {
        String queue = "bench_raw_" + UUID.randomUUID();
        try (Connection pub = factory.newConnection("bench-raw-publisher"); Connection sub = factory.newConnection("bench-raw-consumer")) {
            Channel out = pub.createChannel();
            out.queueDeclare(queue, true, false, false, Map.of("x-queue-type", type.name().toLowerCase()));
            out.confirmSelect();
            // Sequence numbers not yet confirmed; a confirm with multiple=true settles every one up to its tag.
            ConcurrentSkipListSet<Long> unconfirmed = new ConcurrentSkipListSet<>();
            Semaphore window = new Semaphore(WINDOW);
            AtomicBoolean nacked = new AtomicBoolean();
            ConfirmCallback settle = (tag, multiple) -> {
                if (multiple) {
                    NavigableSet<Long> head = unconfirmed.headSet(tag, true);
                    int k = 0;
                    while (head.pollFirst() != null) {
                        k++;
                    }
                    window.release(k);
                } else if (unconfirmed.remove(tag)) {
                    window.release();
                }
            };
            out.addConfirmListener(settle, (tag, multiple) -> {
                nacked.set(true);
                settle.handle(tag, multiple);
            });
            Cost cost = Cost.now();
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                window.acquire();
                AMQP.BasicProperties props;
                byte[] body;
                if (envelope) {
                    EnvelopeJson e = EnvelopeJson.of(queue, TimedBody.of(System.nanoTime()));
                    props = new AMQP.BasicProperties.Builder().messageId(e.id()).deliveryMode(2)
                            .headers(Map.of("resq-format", "envelope", "resq-attempt", "1")).timestamp(new java.util.Date()).build();
                    body = e.toBytes();
                } else {
                    props = new AMQP.BasicProperties.Builder().messageId(UUID.randomUUID().toString()).deliveryMode(2).build();
                    body = TimedBody.of(System.nanoTime()).getBytes(StandardCharsets.UTF_8);
                }
                unconfirmed.add(out.getNextPublishSeqNo());
                out.basicPublish("", queue, true, props, body);
            }
            window.acquire(WINDOW);
            long sendNanos = System.nanoTime() - start;
            Cost.PerMessage sendCost = Cost.now().since(cost, n);
            if (nacked.get()) {
                throw new IllegalStateException("the broker nacked a publish");
            }

            AtomicInteger received = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(1);
            Channel in = sub.createChannel();
            in.basicQos(BACKLOG_PREFETCH);
            cost = Cost.now();
            start = System.nanoTime();
            in.basicConsume(queue, false, new DefaultConsumer(in) {
                @Override
                public void handleDelivery(String tag, Envelope delivery, AMQP.BasicProperties properties, byte[] body) throws java.io.IOException {
                    TimedBody.sentAt(envelope ? EnvelopeJson.read(body).payload() : new String(body, StandardCharsets.UTF_8));
                    getChannel().basicAck(delivery.getDeliveryTag(), false);
                    if (received.incrementAndGet() == n) {
                        done.countDown();
                    }
                }
            });
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("raw drain got " + received.get() + " of " + n);
            }
            long drainNanos = System.nanoTime() - start;
            Cost.PerMessage drainCost = Cost.now().since(cost, n);
            out.queueDelete(queue);
            return new Pipelined(n / (sendNanos / 1e9), sendCost, n / (drainNanos / 1e9), drainCost);
        }
    }

    private static Pipelined resqPipelined(ConnectionFactory factory, QueueType type, int n) throws Exception {
        String queue = "bench_resq_" + UUID.randomUUID();
        RabbitMqTransport transport = RabbitMqTransport.builder(factory).queueType(type).connectionName("bench-resq").build();
        try (Queues queues = Queues.using(transport)) {
            Enqueue<String> out = queues.enqueue(queue, String.class);
            Semaphore window = new Semaphore(WINDOW);
            AtomicBoolean failed = new AtomicBoolean();
            Cost cost = Cost.now();
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                window.acquire();
                out.sendAsync(TimedBody.of(System.nanoTime())).whenComplete((m, e) -> {
                    if (e != null) {
                        failed.set(true);
                    }
                    window.release();
                });
            }
            window.acquire(WINDOW);
            long sendNanos = System.nanoTime() - start;
            Cost.PerMessage sendCost = Cost.now().since(cost, n);
            if (failed.get()) {
                throw new IllegalStateException("a send to " + queue + " failed");
            }

            AtomicInteger received = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(1);
            cost = Cost.now();
            start = System.nanoTime();
            Processor<String> p = queues.processor(queue, String.class)
                    .concurrency(1)
                    .prefetch(BACKLOG_PREFETCH)
                    .retry(RetryPolicy.none())
                    .handler(s -> {
                        TimedBody.sentAt(s);
                        if (received.incrementAndGet() == n) {
                            done.countDown();
                        }
                    })
                    .start();
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("resq drain got " + received.get() + " of " + n);
            }
            long drainNanos = System.nanoTime() - start;
            Cost.PerMessage drainCost = Cost.now().since(cost, n);
            p.close();
            deleteQueues(factory, queue, queue + "_deadletter");
            return new Pipelined(n / (sendNanos / 1e9), sendCost, n / (drainNanos / 1e9), drainCost);
        }
    }

    /**
     * One measurement: n messages, the send and end-to-end durations, every message's latency, and
     * the process's CPU microseconds and allocated bytes from the first send until the last message
     * was handled (totals, so that rounds add up).
     */
    private record Result(int n, long sendNanos, long e2eNanos, long[] latencies, double cpuUs, double allocBytes) {

        static Result merge(Result a, Result b) {
            if (a == null) {
                return b;
            }
            long[] all = Arrays.copyOf(a.latencies, a.latencies.length + b.latencies.length);
            System.arraycopy(b.latencies, 0, all, a.latencies.length, b.latencies.length);
            return new Result(a.n + b.n, a.sendNanos + b.sendNanos, a.e2eNanos + b.e2eNanos, all,
                    a.cpuUs + b.cpuUs, a.allocBytes + b.allocBytes);
        }

        Cost.PerMessage cost() {
            return new Cost.PerMessage(cpuUs / n, allocBytes / n, "");
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
        System.out.printf("%-10s %,d msgs  send %,9.0f msg/s   end-to-end %,9.0f msg/s   latency p50 %,8d us  p99 %,8d us   per message: %s%n",
                name, r.n(), r.sendRate(), r.e2eRate(), r.percentileMicros(0.50), r.percentileMicros(0.99), r.cost());
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
            Cost cost = Cost.now();
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
            Cost.PerMessage total = Cost.now().since(cost, 1);
            out.queueDelete(queue);
            return result(n, sendNanos, e2eNanos, latencies, total);
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
            Cost cost = Cost.now();
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                out.send(TimedBody.of(System.nanoTime()));
            }
            long sendNanos = System.nanoTime() - start;
            done.await(10, TimeUnit.MINUTES);
            long e2eNanos = System.nanoTime() - start;
            Cost.PerMessage total = Cost.now().since(cost, 1);
            p.close();
            deleteQueues(factory, queue, queue + "_deadletter");
            return result(n, sendNanos, e2eNanos, latencies, total);
        }
    }

    /** Deletes {@code queues}, on a connection of its own. */
    static void deleteQueues(ConnectionFactory factory, String... queues) throws Exception {
        try (Connection c = factory.newConnection("bench-cleanup"); Channel ch = c.createChannel()) {
            for (String q : queues) {
                ch.queueDelete(q);
            }
        }
    }

    private static Result result(int n, long sendNanos, long e2eNanos, long[] latencies, Cost.PerMessage total) {
        return new Result(n, sendNanos, e2eNanos, latencies, total.cpuUs(), total.allocBytes());
    }
}
