package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorBuilder;
import io.resq.Queues;
import io.resq.kafka.KafkaTransport;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * A batch handler of 100 beside a one-message handler, draining the same preloaded backlog of
 * orders, on the in-memory transport and on Kafka (an embedded KRaft broker in this JVM, or
 * {@code RESQ_KAFKA_BOOTSTRAP}). Messages carry no key, so batches can fill on transports that
 * hand out one message per key at a time. The handler does the same work either way: it adds the
 * order ids (a stand-in for a bulk write, which is where batching pays off in practice; here it
 * shows only resq's own per-message cost with and without batches).
 *
 * <p>Run: {@code benchmarks/run BatchBenchmark [messages, default 100000] [rounds, default 3]}
 */
public final class BatchBenchmark {

    private static final int BATCH = 100;

    private BatchBenchmark() {
    }

    /** Args: [messages] [rounds]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        System.out.printf("Batch benchmark: %,d orders per round, batch of %d vs one message, concurrency 1, %d rounds after a warm-up%n",
                n, BATCH, rounds);
        compare("in-memory", InMemoryTransport::create, n, rounds);
        try (Brokers.Kafka kafka = Brokers.Kafka.start()) {
            compare("kafka", () -> KafkaTransport.create(Map.of("bootstrap.servers", kafka.bootstrap())), n, rounds);
        }
    }

    private static void compare(String name, Supplier<Transport> transports, int n, int rounds) throws Exception {
        round(transports, n, false);
        round(transports, n, true);
        List<Double> single = new ArrayList<>();
        List<Double> batched = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            // Alternating which goes first, so drift on a shared machine hits both.
            boolean batchFirst = r % 2 == 1;
            double first = round(transports, n, batchFirst);
            double second = round(transports, n, !batchFirst);
            (batchFirst ? batched : single).add(first);
            (batchFirst ? single : batched).add(second);
        }
        double s = median(single);
        double b = median(batched);
        System.out.printf("%-9s one message %,10.0f msg/s   batch of %d %,10.0f msg/s   ratio batch/one %.2f   (rounds: %s / %s)%n",
                name, s, BATCH, b, b / s, format(single), format(batched));
    }

    /** Preloads {@code n} orders (not timed), then times a processor draining them; returns msg/s. */
    private static double round(Supplier<Transport> transports, int n, boolean batch) throws Exception {
        String queue = "batch_bench_" + UUID.randomUUID().toString().substring(0, 8);
        CoreOrder[] orders = CoreOrder.samples(n);
        try (Queues queues = Queues.using(transports.get())) {
            Enqueue<CoreOrder> out = queues.enqueue(queue, CoreOrder.class);
            List<java.util.concurrent.CompletableFuture<Msg<CoreOrder>>> pending = new ArrayList<>();
            for (CoreOrder o : orders) {
                pending.add(out.sendAsync(o));
                if (pending.size() == 5_000) {
                    pending.forEach(java.util.concurrent.CompletableFuture::join);
                    pending.clear();
                }
            }
            pending.forEach(java.util.concurrent.CompletableFuture::join);
            LongAdder handled = new LongAdder();
            LongAdder sum = new LongAdder();
            ProcessorBuilder<CoreOrder> builder = queues.processor(queue, CoreOrder.class).group("bench");
            if (batch) {
                builder.batchSize(BATCH).batchWait(Duration.ofMillis(20)).batchHandler(b -> {
                    for (CoreOrder o : b.payloads()) {
                        sum.add(o.id());
                    }
                    handled.add(b.size());
                });
            } else {
                builder.handler(o -> {
                    sum.add(o.id());
                    handled.increment();
                });
            }
            long start = System.nanoTime();
            Processor<CoreOrder> p = builder.start();
            long deadline = start + TimeUnit.SECONDS.toNanos(300);
            while (p.health().succeeded() < n) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("round did not finish: " + p.health());
                }
                Thread.sleep(1);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return n / seconds;
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        return sorted.get(sorted.size() / 2);
    }

    private static String format(List<Double> values) {
        StringBuilder out = new StringBuilder();
        for (double v : values) {
            out.append(out.length() == 0 ? "" : ", ").append(String.format("%,.0f", v));
        }
        return out.toString();
    }
}
