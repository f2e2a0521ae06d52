package io.resq.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.memory.InMemoryTransport;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * In-memory enqueue → dequeue → ack through resq, beside the same orders through a plain
 * {@link ArrayBlockingQueue} with Jackson encode and decode. Every score is messages per second.
 *
 * <p>Two shapes, because they cost differently: <em>ping-pong</em> moves one message and waits for it
 * (a latency-bound round trip, where resq's hand-off to its fetch thread shows), <em>batch</em> sends
 * {@value #BATCH} and then takes them all (throughput, where resq's threads overlap with the caller).
 * resq is measured on both send paths: the synchronous {@code send} and the send channel
 * {@code messages().put}. The plain baseline does on one thread what a hand-written queue would:
 * {@code writeValueAsBytes}, {@code put}, {@code take}, {@code readValue}.
 *
 * <p>{@link CoreBenchmarks} runs this class and prints the ratios; the annotations below are the
 * defaults when JMH's own runner is used.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(2)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class InMemoryChannelBenchmark {

    /** Messages per invocation of the batch benchmarks. */
    public static final int BATCH = 100;
    /** Receive-channel size of the diagnostic benchmark: room for a whole batch, unlike the default of 16. */
    public static final int WIDE_PREFETCH = 128;

    private static final String QUEUE = "orders";

    private CoreOrder[] orders;
    private ObjectMapper mapper;
    private Queues queues;
    private Enqueue<CoreOrder> enqueue;
    private Dequeue<CoreOrder> dequeue;
    private BlockingQueue<byte[]> plain;

    /** A fresh in-memory transport and plain queue per trial. */
    @Setup
    public void setUp() {
        orders = CoreOrder.samples(BATCH);
        mapper = CoreOrder.mapper();
        queues = Queues.builder(InMemoryTransport.create()).objectMapper(mapper).build();
        enqueue = queues.enqueue(QUEUE, CoreOrder.class);
        dequeue = queues.dequeue(QUEUE, CoreOrder.class);
        // Room for a whole batch, so the baseline never blocks on its own producer.
        plain = new ArrayBlockingQueue<>(1024);
    }

    /** Closes the queues and their threads. */
    @TearDown
    public void tearDown() {
        queues.close();
    }

    /**
     * The queues of the diagnostic benchmark, in a state of their own so that their threads exist
     * only while that benchmark runs.
     */
    @State(Scope.Benchmark)
    public static class WidePrefetch {
        Queues queues;
        Enqueue<CoreOrder> enqueue;
        Dequeue<CoreOrder> dequeue;

        /** Queues whose receive channel holds a whole batch. */
        @Setup
        public void setUp() {
            queues = Queues.builder(InMemoryTransport.create()).objectMapper(CoreOrder.mapper()).prefetch(WIDE_PREFETCH).build();
            enqueue = queues.enqueue(QUEUE, CoreOrder.class);
            dequeue = queues.dequeue(QUEUE, CoreOrder.class);
        }

        /** Closes the queues and their threads. */
        @TearDown
        public void tearDown() {
            queues.close();
        }
    }

    // ------------------------------------------------------------------ ping-pong: one message at a time

    /** Baseline: encode, put, take, decode one order. */
    @Benchmark
    public CoreOrder plainPingPong() throws IOException, InterruptedException {
        plain.put(mapper.writeValueAsBytes(orders[0]));
        return mapper.readValue(plain.take(), CoreOrder.class);
    }

    /** resq: {@code send} one order, take it from the receive channel, ack it. */
    @Benchmark
    public Object resqSendPingPong() throws InterruptedException {
        enqueue.send(orders[0]);
        return takeAndAck();
    }

    /** resq: put one order into the send channel, take it from the receive channel, ack it. */
    @Benchmark
    public Object resqChannelPingPong() throws InterruptedException {
        enqueue.messages().put(orders[0]);
        return takeAndAck();
    }

    // ------------------------------------------------------------------ batch: BATCH messages, then take them all

    /** Baseline: encode and put {@value #BATCH} orders, then take and decode them. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void plainBatch(Blackhole bh) throws IOException, InterruptedException {
        for (CoreOrder o : orders) {
            plain.put(mapper.writeValueAsBytes(o));
        }
        for (int i = 0; i < BATCH; i++) {
            bh.consume(mapper.readValue(plain.take(), CoreOrder.class));
        }
    }

    /** resq: {@code send} {@value #BATCH} orders, then take and ack them. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void resqSendBatch(Blackhole bh) throws InterruptedException {
        for (CoreOrder o : orders) {
            enqueue.send(o);
        }
        for (int i = 0; i < BATCH; i++) {
            bh.consume(takeAndAck());
        }
    }

    /** resq: put {@value #BATCH} orders into the send channel, then take and ack them. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void resqChannelBatch(Blackhole bh) throws InterruptedException {
        for (CoreOrder o : orders) {
            enqueue.messages().put(o);
        }
        for (int i = 0; i < BATCH; i++) {
            bh.consume(takeAndAck());
        }
    }

    /**
     * Diagnostic, not a resq-versus-baseline pair on its own: {@link #resqSendBatch} with a receive
     * channel wide enough for the whole batch, to show how much of that benchmark's cost is the
     * dequeue waiting for room in a full channel of the default size.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void resqSendBatchWidePrefetch(WidePrefetch wide, Blackhole bh) throws InterruptedException {
        for (CoreOrder o : orders) {
            wide.enqueue.send(o);
        }
        for (int i = 0; i < BATCH; i++) {
            bh.consume(takeAndAck(wide.dequeue));
        }
    }

    private CoreOrder takeAndAck() throws InterruptedException {
        return takeAndAck(dequeue);
    }

    private static CoreOrder takeAndAck(Dequeue<CoreOrder> from) throws InterruptedException {
        Msg<CoreOrder> msg = from.messages().take();
        from.ack(msg);
        return msg.payload();
    }
}
