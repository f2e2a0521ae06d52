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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XReadGroupParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The same workload through the raw Jedis client and through resq, in one run, in three phases:
 * (1) send N messages of about 200 bytes one at a time, each waiting for Redis' reply, nothing
 * consuming; (2) one consumer drains that backlog through a consumer group, acking each message
 * ({@code XACK} per message; resq: a {@code Processor} with a no-op handler, concurrency 1);
 * (3) a producer thread and the consumer run together, giving end-to-end throughput and the
 * p50/p99 latency from send to handler. Same Redis, same durability, same ack settings.
 *
 * <p>Run: {@code mvn -q -DskipTests install -pl core,testkit,transport-redis} then
 * {@code java -cp benchmarks/target/classes:<mvn -pl benchmarks dependency:build-classpath> io.resq.benchmarks.RedisBenchmark 100000}
 * (Redis at {@code RESQ_REDIS_URI} or 127.0.0.1:6379). Numbers are for comparison within one run, not absolutes.
 */
public final class RedisBenchmark {


    private RedisBenchmark() {
    }

    /** Args: [message count, default 100000]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        String uri = System.getenv().getOrDefault("RESQ_REDIS_URI", "redis://127.0.0.1:6379");
        System.out.printf("Redis Streams benchmark: %,d messages of ~%d bytes, sync sends, 1 consumer acking each message, %s%n",
                n, TimedBody.SIZE, uri.replaceAll("//[^@/]*@", "//***@"));

        // Warm up both paths so JIT and connection pools do not bias the first measurement.
        raw(uri, Math.min(n, 10_000));
        resq(uri, Math.min(n, 10_000));

        Result raw = raw(uri, n);
        Result resq = resq(uri, n);
        print("raw Jedis", raw);
        print("resq", resq);
        System.out.printf("ratio resq/raw: send %.2f, consume %.2f, end-to-end %.2f%n",
                resq.sendRate / raw.sendRate, resq.consumeRate / raw.consumeRate, resq.e2eRate / raw.e2eRate);
    }

    /**
     * @param sendRate    sends per second, nothing consuming
     * @param consumeRate messages per second consumed (and acked) from a backlog of n
     * @param e2eRate     messages per second with producer and consumer running together
     */
    private record Result(double sendRate, double consumeRate, double e2eRate, long p50Micros, long p99Micros) {
    }

    private static void print(String name, Result r) {
        System.out.printf("%-10s send %,8.0f msg/s   consume %,8.0f msg/s   together %,8.0f msg/s   latency p50 %,9d us  p99 %,9d us%n",
                name, r.sendRate, r.consumeRate, r.e2eRate, r.p50Micros, r.p99Micros);
    }



    /** One side of the comparison: how to send one message and how to consume n. */
    private interface Side extends AutoCloseable {
        void send(String stream, String body);

        /** Consumes n messages from stream, recording latencies; returns when all were acked. */
        void consume(String stream, int n, long[] latencies) throws Exception;
    }

    private static Result run(Side side, int n) throws Exception {
        String backlog = "bench_backlog_" + UUID.randomUUID();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            side.send(backlog, TimedBody.of(System.nanoTime()));
        }
        double sendRate = n / ((System.nanoTime() - start) / 1e9);
        start = System.nanoTime();
        side.consume(backlog, n, new long[n]);
        double consumeRate = n / ((System.nanoTime() - start) / 1e9);

        String together = "bench_e2e_" + UUID.randomUUID();
        long[] latencies = new long[n];
        Thread producer = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                side.send(together, TimedBody.of(System.nanoTime()));
            }
        }, "bench-producer");
        start = System.nanoTime();
        producer.start();
        side.consume(together, n, latencies);
        double e2eRate = n / ((System.nanoTime() - start) / 1e9);
        producer.join();
        side.close();
        try (RedisClient client = RedisClient.create(System.getenv().getOrDefault("RESQ_REDIS_URI", "redis://127.0.0.1:6379"))) {
            client.del(backlog, together, backlog + "_deadletter", together + "_deadletter");
        }
        return new Result(sendRate, consumeRate, e2eRate, TimedBody.percentileMicros(latencies, 0.50),
                TimedBody.percentileMicros(latencies, 0.99));
    }

    private static Result raw(String uri, int n) throws Exception {
        RedisClient client = RedisClient.create(uri);
        return run(new Side() {
            @Override
            public void send(String stream, String body) {
                client.xadd(stream, StreamEntryID.NEW_ENTRY, Map.of("resq-id", UUID.randomUUID().toString(), "body", body));
            }

            @Override
            public void consume(String stream, int count, long[] latencies) {
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
                            latencies[received++] = System.nanoTime() - TimedBody.sentAt(e.getFields().get("body"));
                            client.xack(stream, "g", e.getID());
                        }
                    }
                }
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
            public void consume(String stream, int count, long[] latencies) throws Exception {
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
                p.close();
            }

            @Override
            public void close() {
                queues.close();
            }
        }, n);
    }
}
