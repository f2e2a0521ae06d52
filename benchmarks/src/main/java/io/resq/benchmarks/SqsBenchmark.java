package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.sqs.SqsTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

/**
 * The same workload through the raw AWS SDK v2 {@code SqsClient} and through resq, in one run,
 * in three phases: (1) send N messages of about 200 bytes, nothing consuming; (2) one consumer
 * drains that backlog, deleting each message after its (no-op) handler; (3) a producer thread and
 * the consumer run together, giving end-to-end throughput and p50/p99 latency from send to handler.
 *
 * <p>Same shape on both sides. Sending: chunks of 100 messages, each chunk as 10
 * {@code SendMessageBatch} requests of 10 with up to 5 in flight, waiting for SQS's answer
 * (resq: the {@code Enqueue.messages()} channel, which does exactly that through the transport;
 * phase 1 ends when SQS reports all N messages). Consuming: long polls of up to 10 and
 * {@code DeleteMessageBatch} (resq: a {@code Processor} with concurrency 1 and a no-op handler,
 * whose acks the transport batches). Both use one {@code SqsClient} with the SDK's default HTTP
 * client against the same endpoint.
 *
 * <p>Run: {@code benchmarks/run SqsBenchmark 100000} (ElasticMQ started in this JVM, or SQS at
 * {@code RESQ_SQS_ENDPOINT}; see {@link Brokers}). Numbers are for comparison within one run, not
 * absolutes. Every phase also prints this process's CPU time and heap allocation per message
 * ({@link Cost}), which include ElasticMQ's when it runs in this JVM. resq's send phase includes
 * the harness polling SQS for the stored count every 20 ms.
 */
public final class SqsBenchmark {

    private static final int CHUNK = 100;
    private static final int IN_FLIGHT = 5;

    private SqsBenchmark() {
    }

    /** Args: [message count, default 100000]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        try (Brokers.Sqs sqs = Brokers.Sqs.start(); SqsClient client = sqs.client()) {
            System.out.printf("SQS benchmark: %,d messages of ~%d bytes, batches of 10 (5 in flight), 1 consumer deleting after each handler, %s%n",
                    n, TimedBody.SIZE, sqs);
            // Warm up both paths so JIT and connection pools do not bias the first measurement.
            int warm = Math.min(n, 2_000);
            raw(client, warm);
            resq(client, warm);

            Result raw = raw(client, n);
            Result resq = resq(client, n);
            print("raw SDK", raw);
            print("resq", resq);
            System.out.printf("ratio resq/raw: send %.2f, consume %.2f, end-to-end %.2f%n",
                    resq.sendRate / raw.sendRate, resq.consumeRate / raw.consumeRate, resq.e2eRate / raw.e2eRate);
        }
    }

    private record Result(double sendRate, double consumeRate, double e2eRate, long p50Micros, long p99Micros,
                          Cost.PerMessage sendCost, Cost.PerMessage consumeCost, Cost.PerMessage e2eCost) {
    }

    private static void print(String name, Result r) {
        System.out.printf("%-8s send %,8.0f msg/s   consume %,8.0f msg/s   together %,8.0f msg/s   latency p50 %,9d us  p99 %,9d us%n",
                name, r.sendRate, r.consumeRate, r.e2eRate, r.p50Micros, r.p99Micros);
        System.out.printf("%-8s per message: send %s   consume %s   together %s%n", "", r.sendCost, r.consumeCost, r.e2eCost);
    }



    /** One side of the comparison. */
    private interface Side extends AutoCloseable {
        /** Sends n messages to queue; returns when SQS has confirmed (stored) them all. */
        void send(String queue, int n) throws Exception;

        /**
         * Consumes n messages from queue, recording latencies; returns when all were handled, with a
         * cost reading taken before any consuming thread stops (a stopped thread's allocation is lost).
         */
        Cost consume(String queue, int n, long[] latencies) throws Exception;
    }

    private static Result run(SqsClient client, Side side, int n) throws Exception {
        String backlog = "bench_backlog_" + UUID.randomUUID().toString().substring(0, 8);
        String together = "bench_e2e_" + UUID.randomUUID().toString().substring(0, 8);
        for (String q : List.of(backlog, together)) {
            client.createQueue(r -> r.queueName(q));
        }
        Cost cost = Cost.now();
        long start = System.nanoTime();
        side.send(backlog, n);
        double sendRate = n / ((System.nanoTime() - start) / 1e9);
        Cost.PerMessage sendCost = Cost.now().since(cost, n);
        cost = Cost.now();
        start = System.nanoTime();
        Cost.PerMessage consumeCost = side.consume(backlog, n, new long[n]).since(cost, n);
        double consumeRate = n / ((System.nanoTime() - start) / 1e9);

        long[] latencies = new long[n];
        // The producer thread stays alive until the cost is read, or its allocation would be lost.
        CountDownLatch measured = new CountDownLatch(1);
        Thread producer = new Thread(() -> {
            try {
                side.send(together, n);
                measured.await();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "bench-producer");
        cost = Cost.now();
        start = System.nanoTime();
        producer.start();
        Cost.PerMessage e2eCost = side.consume(together, n, latencies).since(cost, n);
        double e2eRate = n / ((System.nanoTime() - start) / 1e9);
        measured.countDown();
        producer.join();
        side.close();
        for (String q : List.of(backlog, together)) {
            client.deleteQueue(r -> r.queueUrl(client.getQueueUrl(g -> g.queueName(q)).queueUrl()));
        }
        return new Result(sendRate, consumeRate, e2eRate, TimedBody.percentileMicros(latencies, 0.50),
                TimedBody.percentileMicros(latencies, 0.99), sendCost, consumeCost, e2eCost);
    }

    private static Result raw(SqsClient client, int n) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(IN_FLIGHT - 1);
        return run(client, new Side() {
            @Override
            public void send(String queue, int count) throws Exception {
                String url = client.getQueueUrl(r -> r.queueName(queue)).queueUrl();
                for (int from = 0; from < count; from += CHUNK) {
                    // Like resq's channel: the caller sends the first batch of a chunk, the pool the rest.
                    List<Future<?>> others = new ArrayList<>();
                    int chunkEnd = Math.min(count, from + CHUNK);
                    for (int b = from + 10; b < chunkEnd; b += 10) {
                        int batchStart = b;
                        others.add(pool.submit(() -> sendBatch(client, url, batchStart, Math.min(chunkEnd, batchStart + 10))));
                    }
                    sendBatch(client, url, from, Math.min(chunkEnd, from + 10));
                    for (Future<?> f : others) {
                        f.get();
                    }
                }
            }

            @Override
            public Cost consume(String queue, int count, long[] latencies) {
                String url = client.getQueueUrl(r -> r.queueName(queue)).queueUrl();
                int received = 0;
                while (received < count) {
                    List<Message> got = client.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10).waitTimeSeconds(1)).messages();
                    if (got.isEmpty()) {
                        continue;
                    }
                    List<DeleteMessageBatchRequestEntry> deletes = new ArrayList<>(got.size());
                    for (Message m : got) {
                        latencies[received++] = System.nanoTime() - TimedBody.sentAt(m.body());
                        deletes.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(deletes.size()))
                                .receiptHandle(m.receiptHandle()).build());
                    }
                    client.deleteMessageBatch(r -> r.queueUrl(url).entries(deletes));
                }
                return Cost.now();
            }

            @Override
            public void close() {
                pool.shutdown();
            }
        }, n);
    }

    private static Void sendBatch(SqsClient client, String url, int from, int to) {
        List<SendMessageBatchRequestEntry> entries = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            entries.add(SendMessageBatchRequestEntry.builder().id(Integer.toString(i - from))
                    .messageBody(TimedBody.of(System.nanoTime())).build());
        }
        if (!client.sendMessageBatch(r -> r.queueUrl(url).entries(entries)).failed().isEmpty()) {
            throw new IllegalStateException("SQS refused part of a batch");
        }
        return null;
    }

    private static Result resq(SqsClient client, int n) throws Exception {
        Queues queues = Queues.using(SqsTransport.create(client));
        return run(client, new Side() {
            @Override
            public void send(String queue, int count) throws Exception {
                Enqueue<String> out = queues.enqueue(queue, String.class);
                for (int i = 0; i < count; i++) {
                    out.messages().put(TimedBody.of(System.nanoTime()));
                }
                // The channel is asynchronous: done when SQS holds them all (nothing consumes in phase 1),
                // or, in phase 3, when the channel is empty and its batch went out.
                String url = client.getQueueUrl(r -> r.queueName(queue)).queueUrl();
                while (!out.messages().isEmpty() || stored(client, url) < count && !consuming) {
                    Thread.sleep(20);
                }
                if (!out.deadLetters().isEmpty()) {
                    throw new IllegalStateException(out.deadLetters().size() + " messages could not be sent");
                }
            }

            private volatile boolean consuming;

            @Override
            public Cost consume(String queue, int count, long[] latencies) throws Exception {
                consuming = true;
                AtomicInteger received = new AtomicInteger();
                CountDownLatch done = new CountDownLatch(1);
                Processor<String> p = queues.processor(queue, String.class)
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
                done.await(30, TimeUnit.MINUTES);
                Cost end = Cost.now();
                p.close();
                consuming = false;
                return end;
            }

            @Override
            public void close() {
                queues.close();
            }
        }, n);
    }

    private static int stored(SqsClient client, String url) {
        String n = client.getQueueAttributes(r -> r.queueUrl(url).attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                .attributes().get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES);
        return n == null ? 0 : Integer.parseInt(n);
    }
}
