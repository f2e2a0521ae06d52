package io.resq.benchmarks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.resq.Enqueue;
import io.resq.Listener;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.memory.InMemoryTransport;
import io.resq.micrometer.ResqMetrics;
import io.resq.opentelemetry.ResqTracing;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Processor throughput on the in-memory transport with a no-op handler, beside a plain
 * {@link ArrayBlockingQueue} drained by an {@link ExecutorService} doing the same JSON decode and work.
 *
 * <p>Each round pre-loads {@code messages} orders (not timed), then times how long it takes until
 * every one is processed: for resq until the processor has acked them all (counted by a
 * {@link Listener#onSucceeded}, which fires after the ack), for the baseline until its workers have
 * decoded, handled and counted them all. The baseline keeps the bookkeeping a hand-written consumer
 * needs: a success count, and a caught, counted failure per message so one bad body does not kill
 * a worker. Warm-up rounds come first; resq and baseline alternate which goes first, so slow
 * drift on a shared machine hits both. Plain {@code main()} rather than JMH, because a round is a
 * whole drain of a queue with thread pools starting and stopping, not a repeatable small operation.
 *
 * <p>{@link #runObservability} measures instead what the observability modules cost: the same
 * resq round with {@link ResqMetrics} (a {@link SimpleMeterRegistry}) and {@link ResqTracing} (an
 * OpenTelemetry SDK sampling every span, batching them to an exporter that drops them) against the
 * round without, taking turns the same way. The sends (and so their producer spans) happen in the
 * untimed pre-load: the ratio is the handling side's, one consumer span and the meters per message.
 *
 * <p>Run: {@code benchmarks/run InMemoryProcessorBenchmark 100000 2 5}, or with a fourth argument
 * {@code observability} for {@link #runObservability}.
 */
public final class InMemoryProcessorBenchmark {

    private static final String QUEUE = "orders";
    private static final long ROUND_TIMEOUT_SECONDS = 120;

    private final int messages;
    private final int warmupRounds;
    private final int rounds;
    private final CoreOrder[] orders;
    private final long expectedSum;
    private final ObjectMapper mapper = CoreOrder.mapper();

    /** A harness that moves {@code messages} orders per round, {@code warmupRounds} untimed then {@code rounds} timed. */
    public InMemoryProcessorBenchmark(int messages, int warmupRounds, int rounds) {
        if (messages < 1 || warmupRounds < 0 || rounds < 1) {
            throw new IllegalArgumentException("need messages >= 1, warmupRounds >= 0, rounds >= 1");
        }
        this.messages = messages;
        this.warmupRounds = warmupRounds;
        this.rounds = rounds;
        this.orders = CoreOrder.samples(messages);
        this.expectedSum = Arrays.stream(orders).mapToLong(CoreOrder::id).sum();
    }

    /** Runs the default configuration and prints its table. Arguments: [messages [warmupRounds [rounds]]]. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        boolean observability = args.length > 3 && args[3].equals("observability");
        InMemoryProcessorBenchmark bench = new InMemoryProcessorBenchmark(n, warmup, rounds);
        List<CoreRow> rows = observability ? bench.runObservability(1, 8) : bench.run(1, 8);
        System.out.println(CoreRow.markdownHeader());
        rows.forEach(r -> System.out.println(r.markdown()));
    }

    /**
     * One row per concurrency: median throughput of resq with resq-micrometer and resq-opentelemetry
     * on, and (in the baseline column) of resq without them, over the timed rounds.
     */
    public List<CoreRow> runObservability(int... concurrencies) throws Exception {
        List<CoreRow> rows = new ArrayList<>();
        for (int c : concurrencies) {
            double[] observed = new double[rounds];
            double[] plain = new double[rounds];
            for (int round = -warmupRounds; round < rounds; round++) {
                boolean observedFirst = Math.floorMod(round, 2) == 0;
                double a = observedFirst ? resqRound(c, true).rate() : resqRound(c, false).rate();
                double b = observedFirst ? resqRound(c, false).rate() : resqRound(c, true).rate();
                double o = observedFirst ? a : b;
                double p = observedFirst ? b : a;
                System.out.printf("processor concurrency %d %s: with metrics and tracing %,.0f msg/s, without %,.0f msg/s%n",
                        c, round < 0 ? "warm-up" : "round " + (round + 1), o, p);
                if (round >= 0) {
                    observed[round] = o;
                    plain[round] = p;
                }
            }
            rows.add(new CoreRow(String.format("processor with metrics + tracing vs resq without, concurrency %d (%,d msgs/round)", c, messages),
                    median(observed), median(plain), "with " + range(observed) + "; without " + range(plain)));
        }
        return rows;
    }

    /** One row per concurrency: median throughput of resq and of the baseline over the timed rounds. */
    public List<CoreRow> run(int... concurrencies) throws Exception {
        List<CoreRow> rows = new ArrayList<>();
        for (int c : concurrencies) {
            double[] resq = new double[rounds];
            double[] plain = new double[rounds];
            double[][] resqCost = new double[2][rounds];
            double[][] plainCost = new double[2][rounds];
            for (int round = -warmupRounds; round < rounds; round++) {
                // Alternate who goes first, so a burst of load from elsewhere does not always hit the same side.
                boolean resqFirst = Math.floorMod(round, 2) == 0;
                Round a = resqFirst ? resqRound(c) : plainRound(c);
                Round b = resqFirst ? plainRound(c) : resqRound(c);
                Round r = resqFirst ? a : b;
                Round p = resqFirst ? b : a;
                System.out.printf("processor concurrency %d %s: resq %,.0f msg/s (%s), baseline %,.0f msg/s (%s)%n",
                        c, round < 0 ? "warm-up" : "round " + (round + 1), r.rate, r.cost, p.rate, p.cost);
                if (round >= 0) {
                    resq[round] = r.rate;
                    plain[round] = p.rate;
                    resqCost[0][round] = r.cost.cpuUs();
                    resqCost[1][round] = r.cost.allocBytes();
                    plainCost[0][round] = p.cost.cpuUs();
                    plainCost[1][round] = p.cost.allocBytes();
                }
            }
            rows.add(new CoreRow(String.format("processor, no-op handler, concurrency %d (%,d msgs/round)", c, messages),
                    median(resq), median(plain), "resq " + range(resq) + "; baseline " + range(plain)
                    + String.format("; per message (medians) resq %.2f us CPU, %,.0f B, baseline %.2f us CPU, %,.0f B",
                    median(resqCost[0]), median(resqCost[1]), median(plainCost[0]), median(plainCost[1]))));
        }
        return rows;
    }

    /** One side's round: messages per second, and CPU and heap allocation per message of the whole process. */
    private record Round(double rate, Cost.PerMessage cost) {
    }

    // ------------------------------------------------------------------ resq

    private Round resqRound(int concurrency) throws InterruptedException {
        return resqRound(concurrency, false);
    }

    /** A resq round; {@code observed}: with ResqMetrics and ResqTracing registered. */
    private Round resqRound(int concurrency, boolean observed) throws InterruptedException {
        LongAdder sink = new LongAdder();
        CountDownLatch acked = new CountDownLatch(messages);
        Listener counter = new Listener() {
            @Override
            public void onSucceeded(Msg<?> msg, Duration duration) {
                acked.countDown();
            }
        };
        Queues.Builder builder = Queues.builder(InMemoryTransport.create()).objectMapper(mapper).envelopeMode(BenchEnvelope.MODE);
        SdkTracerProvider tracerProvider = null;
        if (observed) {
            // A queue that holds a whole round's spans (the pre-load's send spans included): the SDK drops none, so every span is paid for.
            BatchSpanProcessor batches = BatchSpanProcessor.builder(new DroppingExporter()).setMaxQueueSize(4 * messages)
                    .setScheduleDelay(Duration.ofMillis(100)).build();
            tracerProvider = SdkTracerProvider.builder().addSpanProcessor(batches).build();
            builder.interceptor(ResqMetrics.of(new SimpleMeterRegistry()))
                    .interceptor(ResqTracing.of(OpenTelemetrySdk.builder().setTracerProvider(tracerProvider).build()));
        }
        try (Queues queues = builder.build()) {
            Enqueue<CoreOrder> out = queues.enqueue(QUEUE, CoreOrder.class);
            for (CoreOrder o : orders) {
                out.send(o);
            }
            settle();
            Cost cost = Cost.now();
            long start = System.nanoTime();
            BenchPrefetch.apply(queues.processor(QUEUE, CoreOrder.class))
                    .concurrency(concurrency)
                    .listener(counter)
                    .handler(o -> work(o, sink))
                    .start();
            await(acked, "resq");
            long elapsed = System.nanoTime() - start;
            Cost.PerMessage perMessage = Cost.now().since(cost, messages); // before close stops the workers
            check("resq", sink);
            return new Round(messages / (elapsed / 1e9), perMessage);
        } finally {
            if (tracerProvider != null) {
                tracerProvider.close();
            }
        }
    }

    /** Takes every span batch and drops it: the cost measured is making and batching spans, not shipping them. */
    private static final class DroppingExporter implements SpanExporter {
        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }

    // ------------------------------------------------------------------ baseline

    private Round plainRound(int concurrency) throws InterruptedException, JsonProcessingException {
        LongAdder sink = new LongAdder();
        LongAdder succeeded = new LongAdder();
        LongAdder failed = new LongAdder();
        CountDownLatch done = new CountDownLatch(messages);
        BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(messages);
        for (CoreOrder o : orders) {
            queue.add(mapper.writeValueAsBytes(o));
        }
        settle();
        Cost cost = Cost.now();
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        for (int i = 0; i < concurrency; i++) {
            pool.execute(() -> {
                byte[] body;
                // The queue was filled before the clock started, so empty means finished.
                while ((body = queue.poll()) != null) {
                    try {
                        work(mapper.readValue(body, CoreOrder.class), sink);
                        succeeded.increment();
                    } catch (IOException | RuntimeException e) {
                        failed.increment();
                    } finally {
                        done.countDown();
                    }
                }
            });
        }
        await(done, "baseline");
        long elapsed = System.nanoTime() - start;
        Cost.PerMessage perMessage = Cost.now().since(cost, messages); // before the pool's threads end
        pool.shutdown();
        if (failed.sum() != 0 || succeeded.sum() != messages) {
            throw new IllegalStateException("baseline: " + succeeded.sum() + " succeeded, " + failed.sum() + " failed");
        }
        check("baseline", sink);
        return new Round(messages / (elapsed / 1e9), perMessage);
    }

    // ------------------------------------------------------------------ shared

    /** The handler's "work": touch the decoded order so neither side can skip decoding it. */
    private static void work(CoreOrder order, LongAdder sink) {
        sink.add(order.id());
    }

    /** Both sides must have handled every order exactly once, or their numbers mean nothing. */
    private void check(String side, LongAdder sink) {
        if (sink.sum() != expectedSum) {
            throw new IllegalStateException(side + " handled a different set of orders: id sum " + sink.sum() + ", expected " + expectedSum);
        }
    }

    private static void await(CountDownLatch latch, String side) throws InterruptedException {
        if (!latch.await(ROUND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException(side + " did not finish a round within " + ROUND_TIMEOUT_SECONDS + " s; "
                    + latch.getCount() + " messages left");
        }
    }

    /** Collects the pre-load's garbage before the clock starts, so neither side pays for the other's. */
    private static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(100);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static String range(double[] values) {
        return String.format("%,.0f–%,.0f", Arrays.stream(values).min().orElse(0), Arrays.stream(values).max().orElse(0));
    }
}
