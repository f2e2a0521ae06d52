package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.redis.RedisTransport;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XReadGroupParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The same workload through the raw Jedis client and through resq, in one run, in four phases:
 * (1) send N messages of about 200 bytes one at a time, each waiting for Redis' reply, nothing
 * consuming (a latency figure: one round trip per message); (2) send N more pipelined, at most
 * {@value #WINDOW} unanswered (raw: a Jedis pipeline of {@value #WINDOW} {@code XADD}s, then its
 * sync; resq: {@code sendAsync} with a window of {@value #WINDOW} outstanding futures), the
 * throughput figure, and once more through resq's send channel ({@code messages().put}, timed
 * until {@code XLEN} shows all N, polled every 5 ms; the raw side repeats its pipeline there); (3) one consumer drains the first backlog through a consumer group, acking each
 * message ({@code XACK} per message; resq: a {@code Processor} with a no-op handler, concurrency 1);
 * (4) a producer thread and the consumer run together, giving end-to-end throughput and the
 * p50/p99 latency from send to handler. Same Redis, same durability, same ack settings. Every
 * phase also prints the process's CPU time and heap allocation per message ({@link Cost}).
 *
 * <p>Then, unless the second argument is 0, the 10%-failing scenario of {@link RedisFailureScenario}.
 *
 * <p>The raw side runs twice: with the bare 200-byte body (and an id field), read without
 * decoding, the floor, as the plain raw side of {@link KafkaBenchmark} is; and as raw+envelope,
 * writing resq's envelope and fields and decoding each body, the fair baseline.
 *
 * <p>Run: {@code benchmarks/run RedisBenchmark 100000} (Redis at {@code RESQ_REDIS_URI}, or the local
 * service on 127.0.0.1:6379, which the script starts if it does not answer). Numbers are for
 * comparison within one run, not absolutes.
 */
public final class RedisBenchmark {

    /** Messages in flight at most when sending pipelined. */
    private static final int WINDOW = 1_000;

    private RedisBenchmark() {
    }

    /** Args: [message count, default 100000] [messages in the 10%-failing scenario, default 10000, 0 skips it]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int failing = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        String uri = Brokers.redisUri();
        System.out.printf("Redis Streams benchmark: %,d messages of ~%d bytes, sync and pipelined (window %,d) sends,"
                + " 1 consumer acking each message, %s%n", n, TimedBody.SIZE, WINDOW, uri.replaceAll("//[^@/]*@", "//***@"));

        // Warm up both paths so JIT and connection pools do not bias the first measurement.
        raw(uri, Math.min(n, 10_000), false);
        raw(uri, Math.min(n, 10_000), true);
        resq(uri, Math.min(n, 10_000));

        // Two rounds each, alternating, so that load from other processes hits every side alike.
        for (int round = 0; round < 2; round++) {
            Result raw = raw(uri, n, false);
            Result fair = raw(uri, n, true);
            Result resq = resq(uri, n);
            print("raw Jedis", raw);
            print("raw+env", fair);
            print("resq", resq);
            ratios("resq/raw", resq, raw);
            ratios("resq/raw+envelope", resq, fair);
        }
        if (failing > 0) {
            // One round per side after a short warm-up of each: a round is mostly the policy's sleeping.
            RedisFailureScenario.raw(uri, Math.min(failing, 1_000));
            RedisFailureScenario.resq(uri, Math.min(failing, 1_000));
            KafkaFailureScenario.Outcome fr = RedisFailureScenario.raw(uri, failing);
            KafkaFailureScenario.Outcome fq = RedisFailureScenario.resq(uri, failing);
            fr.print("raw+decode");
            fq.print("resq");
            System.out.printf("ratio resq/raw, 10%% failing: %.2f%n", fq.rate() / fr.rate());
        }
    }

    private static void ratios(String name, Result resq, Result base) {
        System.out.printf("ratio %s: send %.2f, pipelined send %.2f, send channel/pipeline %.2f, consume %.2f, end-to-end %.2f%n",
                name, resq.send.rate / base.send.rate, resq.pipelined.rate / base.pipelined.rate, resq.channel.rate / base.channel.rate,
                resq.consume.rate / base.consume.rate, resq.e2e.rate / base.e2e.rate);
    }

    /** One phase: messages per second, and what each message cost the process. */
    private record Phase(double rate, Cost.PerMessage cost) {
        static Phase of(int n, long nanos, Cost.PerMessage cost) {
            return new Phase(n / (nanos / 1e9), cost);
        }
    }

    /**
     * @param send      one send at a time, nothing consuming
     * @param pipelined sends with up to {@link #WINDOW} in flight, nothing consuming
     * @param channel   resq: the send channel; raw: the pipeline again
     * @param consume   consumed (and acked) from a backlog of n
     * @param e2e       producer and consumer running together
     */
    private record Result(Phase send, Phase pipelined, Phase channel, Phase consume, Phase e2e, long p50Micros, long p99Micros) {
    }

    private static void print(String name, Result r) {
        System.out.printf("%-10s send %,8.0f msg/s   pipelined %,8.0f msg/s   channel %,8.0f msg/s   consume %,8.0f msg/s"
                        + "   together %,8.0f msg/s   latency p50 %,9d us  p99 %,9d us%n",
                name, r.send.rate, r.pipelined.rate, r.channel.rate, r.consume.rate, r.e2e.rate, r.p50Micros, r.p99Micros);
        System.out.printf("%-10s per message: send %s   pipelined %s   channel %s   consume %s   together %s%n",
                "", r.send.cost, r.pipelined.cost, r.channel.cost, r.consume.cost, r.e2e.cost);
    }



    /** One side of the comparison: how to send one message, n pipelined, and how to consume n. */
    private interface Side extends AutoCloseable {
        void send(String stream, String body);

        /** Sends n fresh bodies with at most {@link #WINDOW} unanswered; returns when all are answered. */
        void sendPipelined(String stream, int n) throws Exception;

        /** Sends n fresh bodies the side's fastest way; returns when Redis holds them all. */
        default void sendChannel(String stream, int n) throws Exception {
            sendPipelined(stream, n);
        }

        /**
         * Consumes n messages from stream, recording latencies; returns when all were acked, with a
         * cost reading taken then, before any consuming thread is stopped (a stopped thread's
         * allocation counter is gone).
         */
        Cost consume(String stream, int n, long[] latencies) throws Exception;
    }

    private static Result run(Side side, int n) throws Exception {
        String backlog = "bench_backlog_" + UUID.randomUUID();
        Cost cost = Cost.now();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            side.send(backlog, TimedBody.of(System.nanoTime()));
        }
        Phase send = Phase.of(n, System.nanoTime() - start, Cost.now().since(cost, n));

        String piped = "bench_pipelined_" + UUID.randomUUID();
        cost = Cost.now();
        start = System.nanoTime();
        side.sendPipelined(piped, n);
        Phase pipelined = Phase.of(n, System.nanoTime() - start, Cost.now().since(cost, n));

        String channelled = "bench_channel_" + UUID.randomUUID();
        cost = Cost.now();
        start = System.nanoTime();
        side.sendChannel(channelled, n);
        Phase channel = Phase.of(n, System.nanoTime() - start, Cost.now().since(cost, n));

        cost = Cost.now();
        start = System.nanoTime();
        Cost end = side.consume(backlog, n, new long[n]);
        Phase consume = Phase.of(n, System.nanoTime() - start, end.since(cost, n));

        String together = "bench_e2e_" + UUID.randomUUID();
        long[] latencies = new long[n];
        // The producer thread stays alive until the cost is read, or its allocation would be lost.
        CountDownLatch measured = new CountDownLatch(1);
        Thread producer = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                side.send(together, TimedBody.of(System.nanoTime()));
            }
            try {
                measured.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "bench-producer");
        cost = Cost.now();
        start = System.nanoTime();
        producer.start();
        end = side.consume(together, n, latencies);
        Phase e2e = Phase.of(n, System.nanoTime() - start, end.since(cost, n));
        measured.countDown();
        producer.join();
        side.close();
        try (RedisClient client = RedisClient.create(Brokers.redisUri())) {
            client.del(backlog, piped, channelled, together, backlog + "_deadletter", together + "_deadletter");
        }
        return new Result(send, pipelined, channel, consume, e2e, TimedBody.percentileMicros(latencies, 0.50),
                TimedBody.percentileMicros(latencies, 0.99));
    }

    /**
     * The raw Jedis side. With {@code envelope} it does resq's useful work by hand: each entry
     * carries resq's envelope JSON ({@link EnvelopeJson}) and the fields resq writes beside it
     * (format, attempt, id), and the consumer decodes every body back into its payload; without,
     * it moves the bare body and an id (the floor).
     */
    private static Result raw(String uri, int n, boolean envelope) throws Exception {
        RedisClient client = RedisClient.create(uri);
        return run(new Side() {
            private Map<String, String> entry(String stream, String body) {
                if (!envelope) {
                    return Map.of("resq-id", UUID.randomUUID().toString(), "body", body);
                }
                EnvelopeJson e = EnvelopeJson.of(stream, body);
                return Map.of("resq-format", "envelope", "resq-attempt", "1", "resq-id", e.id(), "body", e.toJson());
            }

            private String payload(String body) throws java.io.IOException {
                return envelope ? EnvelopeJson.read(body).payload() : body;
            }

            @Override
            public void send(String stream, String body) {
                client.xadd(stream, StreamEntryID.NEW_ENTRY, entry(stream, body));
            }

            @Override
            public void sendPipelined(String stream, int count) {
                // One pipeline per window: WINDOW XADDs written back to back, then one wait for all replies.
                for (int sent = 0; sent < count; ) {
                    int batch = Math.min(WINDOW, count - sent);
                    try (AbstractPipeline p = client.pipelined()) {
                        for (int i = 0; i < batch; i++) {
                            p.xadd(stream, StreamEntryID.NEW_ENTRY, entry(stream, TimedBody.of(System.nanoTime())));
                        }
                        p.sync();
                    }
                    sent += batch;
                }
            }

            @Override
            public Cost consume(String stream, int count, long[] latencies) throws java.io.IOException {
                try {
                    client.xgroupCreate(stream, "g", new StreamEntryID(0, 0), true);
                } catch (redis.clients.jedis.exceptions.JedisDataException e) {
                    // BUSYGROUP: already there
                }
                Map<String, StreamEntryID> from = Map.of(stream, StreamEntryID.XREADGROUP_UNDELIVERED_ENTRY);
                XReadGroupParams params = XReadGroupParams.xReadGroupParams().count(16).block(250);
                int received = 0;
                while (received < count) {
                    List<Map.Entry<String, List<StreamEntry>>> got = client.xreadGroup("g", "c1", params, from);
                    if (got == null) {
                        continue;
                    }
                    for (Map.Entry<String, List<StreamEntry>> s : got) {
                        for (StreamEntry e : s.getValue()) {
                            latencies[received++] = System.nanoTime() - TimedBody.sentAt(payload(e.getFields().get("body")));
                            client.xack(stream, "g", e.getID());
                        }
                    }
                }
                return Cost.now();
            }

            @Override
            public void close() {
                client.close();
            }
        }, n);
    }

    private static Result resq(String uri, int n) throws Exception {
        Queues queues = Queues.using(RedisTransport.create(uri));
        Map<String, Enqueue<String>> enqueues = new java.util.concurrent.ConcurrentHashMap<>();
        return run(new Side() {
            @Override
            public void send(String stream, String body) {
                enqueues.computeIfAbsent(stream, q -> queues.enqueue(q, String.class)).send(body);
            }

            @Override
            public void sendPipelined(String stream, int count) throws Exception {
                Enqueue<String> out = enqueues.computeIfAbsent(stream, q -> queues.enqueue(q, String.class));
                Semaphore window = new Semaphore(WINDOW);
                AtomicReference<Throwable> failed = new AtomicReference<>();
                for (int i = 0; i < count; i++) {
                    window.acquire();
                    out.sendAsync(TimedBody.of(System.nanoTime())).whenComplete((m, e) -> {
                        if (e != null) {
                            failed.compareAndSet(null, e);
                        }
                        window.release();
                    });
                }
                window.acquire(WINDOW);
                if (failed.get() != null) {
                    throw new IllegalStateException("a pipelined send failed", failed.get());
                }
            }

            @Override
            public void sendChannel(String stream, int count) throws Exception {
                Enqueue<String> out = enqueues.computeIfAbsent(stream, q -> queues.enqueue(q, String.class));
                for (int i = 0; i < count; i++) {
                    out.messages().put(TimedBody.of(System.nanoTime()));
                }
                // The channel is best effort and has no per-message answer: done when the stream (named
                // as the queue) holds them all.
                try (RedisClient client = RedisClient.create(uri)) {
                    while (client.xlen(stream) < count) {
                        if (!out.deadLetters().isEmpty()) {
                            throw new IllegalStateException(out.deadLetters().size() + " messages could not be sent");
                        }
                        Thread.sleep(5);
                    }
                }
            }

            @Override
            public Cost consume(String stream, int count, long[] latencies) throws Exception {
                AtomicInteger received = new AtomicInteger();
                CountDownLatch done = new CountDownLatch(1);
                Processor<String> p = queues.processor(stream, String.class).group("bench")
                        .concurrency(1)
                        .retry(RetryPolicy.none())
                        .handler(s -> {
                            int i = received.getAndIncrement();
                            latencies[i] = System.nanoTime() - TimedBody.sentAt(s);
                            if (i == count - 1) {
                                done.countDown();
                            }
                        })
                        .start();
                done.await(10, TimeUnit.MINUTES);
                Cost end = Cost.now();
                p.close();
                return end;
            }

            @Override
            public void close() {
                queues.close();
            }
        }, n);
    }
}
