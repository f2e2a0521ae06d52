package io.resq.benchmarks;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.ProcessorBuilder;
import io.resq.Queues;
import io.resq.kafka.KafkaTransport;
import io.resq.memory.InMemoryTransport;
import io.resq.rabbitmq.QueueType;
import io.resq.rabbitmq.RabbitMqTransport;
import io.resq.redis.RedisTransport;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import io.resq.sqs.SqsTransport;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.XReadGroupParams;
import redis.clients.jedis.resps.StreamEntry;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;

/**
 * Send-to-handler latency at a fixed rate well below saturation, resq beside the broker's own
 * client doing the same, in one JVM: the added latency is what resq costs a message on its way
 * when the system is not busy.
 *
 * <p>One sending thread offers messages at a fixed rate ({@code rate} per second) for a warm-up
 * period and then a measured period. Every message has an intended send time on an absolute
 * schedule ({@code start + i / rate}); the body ({@link TimedBody}) carries that time, and the
 * handler records {@code System.nanoTime()} minus it as its first act. Latency is measured from the
 * intended time, not from when the send call happened to start, so a send that blocks or a sender
 * that wakes late makes the following messages late instead of silently lowering the offered rate
 * (no coordinated omission). How late the sender started each send, and the latency from the
 * start of the send call, are reported beside it; the sender's lateness is part of every side's
 * figures alike. Only messages whose intended time lies in the measured period
 * count; the run waits up to 30 s for all of them and reports any that did not arrive.
 *
 * <p>Both sides send the same 200-byte body: resq inside its envelope, the raw side inside the
 * same envelope JSON written by hand ({@link EnvelopeJson}), which its consumer decodes before
 * calling the handler. Per broker:
 * <ul>
 *   <li>{@code memory}: resq's in-memory transport; raw, an {@link ArrayBlockingQueue} of envelope
 *       bytes drained by one thread.
 *   <li>{@code kafka}: embedded KRaft broker (or {@code RESQ_KAFKA_BOOTSTRAP}), topics of 3 partitions;
 *       raw, the raw+decode side of {@link KafkaBenchmark} (async {@code send} with resq's envelope and
 *       headers; a consumer polling, decoding and {@code commitAsync} after each poll). Both producers
 *       use {@code acks=all} and Kafka's defaults otherwise ({@code linger.ms} 5 in the 4.x clients,
 *       idempotence on); {@code producer.<setting>=<value>} arguments change both alike.
 *   <li>{@code redis}: raw {@code XADD}; one consumer thread in {@code XREADGROUP ... BLOCK 200}
 *       (resq's read blocks as long) of up to 16 entries, {@code XACK} after each handler call.
 *   <li>{@code rabbitmq}: a quorum queue (resq's default type; {@code queue=classic} for classic
 *       queues on both sides); raw {@code basicPublish}
 *       (persistent, mandatory) on a channel in confirm mode, confirms counted by a listener;
 *       {@code basicConsume} with manual acks and {@code basic.qos(2)}, resq's default prefetch for
 *       one handler, {@code basicAck} after each handler call.
 *   <li>{@code sqs}: ElasticMQ started in this JVM (or {@code RESQ_SQS_ENDPOINT});
 *       raw {@code SendMessage} on the sending thread (resq's SQS sender also sends on the caller's
 *       thread); one consumer thread long-polling ({@code ReceiveMessage} of up to 10, waiting 1 s,
 *       as resq's receiver does) and deleting each batch after its handler calls.
 * </ul>
 * resq runs with its defaults: {@code Queues.using(transport)} on the transport's {@code create}
 * (Kafka: the producer settings above), {@code Enqueue.sendAsync}, and a processor with only a
 * group ({@value #GROUP}, required on brokers with consumer groups) and the handler set: one
 * handler thread, the transport's default prefetch, the default in-process retry and redelivery.
 * A third side, {@code spi}, drives the same resq transport without the core (see {@link SpiSide}).
 *
 * <p>Run: {@code benchmarks/run LatencyBenchmark kafka 1000 10 30 1} (it starts the local Redis or
 * RabbitMQ service when the broker needs one; see {@link Brokers}).
 * Arguments: broker ({@code memory|kafka|redis|rabbitmq|sqs}), then optionally the rate in messages
 * per second (default 1000), warm-up seconds (10), measured seconds (30) and rounds (1; each round
 * runs every side, in reverse order in even rounds), then options: {@code sides=} some of
 * {@code raw,spi,resq} (default all three; one side alone, for profiling); for RabbitMQ
 * {@code queue=quorum} (default) or {@code queue=classic}; for Kafka {@code producer.<setting>=<value>};
 * {@code prefetch=<n>} sets resq's and the transport side's prefetch (and RabbitMQ's raw {@code basic.qos})
 * instead of the default, to see what the prefetch does to latency.
 */
public final class LatencyBenchmark {

    /** The consumer group of every side. */
    static final String GROUP = "latency";
    /** How long the run waits, after the last send, for the measured messages still on their way. */
    private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** What the sending thread sleeps in at most while waiting for the next send time, so it notices interrupts. */
    private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private LatencyBenchmark() {
    }

    /** See the class comment for the arguments. */
    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        try (Broker broker = Broker.of(o)) {
            System.out.printf("Latency at a fixed rate: %s, %,d msg/s, %d s warm-up then %d s measured, %d round(s), bodies of %d bytes%n",
                    broker.description(), o.rate, o.warmupSeconds, o.measuredSeconds, o.rounds, TimedBody.SIZE);
            System.out.println("resq: Queues.using(transport), sendAsync, processor with group '" + GROUP
                    + "' and defaults (concurrency 1, the transport's default prefetch, default retry and redelivery)");
            System.out.println("latency: from the intended send time (absolute schedule) to the start of the handler call, in us");
            for (int round = 1; round <= o.rounds; round++) {
                // The first side alternates between rounds, so that drift on a shared machine hits every side.
                List<String> order = new ArrayList<>(o.sides);
                if (round % 2 == 0) {
                    java.util.Collections.reverse(order);
                }
                Map<String, Result> results = new LinkedHashMap<>();
                for (String side : order) {
                    Result r = measure(broker, side, o);
                    r.print(round);
                    results.put(side, r);
                }
                difference(round, "added by resq (resq - raw)", results.get("resq"), results.get("raw"));
                difference(round, "of which the transport (spi - raw)", results.get("spi"), results.get("raw"));
                difference(round, "and the core (resq - spi)", results.get("resq"), results.get("spi"));
            }
        }
    }

    /** Prints {@code a - b} at p50 and p99 when both sides ran. */
    private static void difference(int round, String what, Result a, Result b) {
        if (a != null && b != null) {
            System.out.printf("%s, round %d: p50 %+,.0f us, p99 %+,.0f us (from the send call's start: p50 %+,.0f us, p99 %+,.0f us)%n",
                    what, round, a.micros(50) - b.micros(50), a.micros(99) - b.micros(99),
                    a.fromSendMicros(50) - b.fromSendMicros(50), a.fromSendMicros(99) - b.fromSendMicros(99));
        }
    }

    /** What one side measured in one round. */
    private record Result(String side, Histogram latency, Histogram fromSend, Histogram lateness, long sent, long received,
                          long failures, Cost.PerMessage cost, double loadBefore, double loadAfter) {

        double micros(double percentile) {
            return latency.getValueAtPercentile(percentile) / 1e3;
        }

        double fromSendMicros(double percentile) {
            return fromSend.getValueAtPercentile(percentile) / 1e3;
        }

        void print(int round) {
            System.out.printf("%-4s round %d: %,d of %,d measured messages handled%s; load %.1f -> %.1f; %s%n", side, round, received, sent,
                    failures > 0 ? " (" + failures + " sends or handler calls failed)" : "", loadBefore, loadAfter, cost);
            System.out.printf("%-4s   from intended send time: %s%n", "", percentiles(latency));
            System.out.printf("%-4s   from send call start:    %s%n", "", percentiles(fromSend));
            System.out.printf("%-4s   send call started late:  %s%n", "", percentiles(lateness));
        }

        private static String percentiles(Histogram h) {
            return String.format("p50 %,8.0f  p90 %,8.0f  p99 %,8.0f  p99.9 %,8.0f  max %,9.0f us", h.getValueAtPercentile(50) / 1e3,
                    h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3,
                    h.getMaxValue() / 1e3);
        }
    }

    /**
     * One round of one side: a fresh queue, the consumer started, then the sender at the fixed rate
     * on this thread until the measured period ends, then a wait for the measured messages.
     */
    private static Result measure(Broker broker, String sideName, Options o) throws Exception {
        String queue = broker.newQueue(sideName);
        long total = (long) o.rate * (o.warmupSeconds + o.measuredSeconds);
        Recorder recorder = new Recorder((int) total, o.rate);
        Histogram lateness = new Histogram(3);
        double loadBefore = load();
        try (Side side = switch (sideName) {
            case "raw" -> broker.raw().call();
            case "spi" -> new SpiSide(broker.transport().get(), o.prefetch);
            default -> new ResqSide(broker.transport().get(), o.prefetch);
        }) {
            Cost.PerMessage cost;
            long sent = 0;
            try (AutoCloseable consumer = side.consume(queue, recorder)) {
                long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
                long measureFrom = start + TimeUnit.SECONDS.toNanos(o.warmupSeconds);
                recorder.start(start, measureFrom);
                Cost first = o.warmupSeconds == 0 ? Cost.now() : null;
                for (long i = 0; i < total; i++) {
                    long intended = start + (long) (i * 1e9 / o.rate);
                    waitUntil(intended);
                    long at = System.nanoTime();
                    long late = at - intended;
                    recorder.sendStarted((int) i, at);
                    try {
                        side.send(queue, TimedBody.of(intended));
                    } catch (Exception e) {
                        side.failed(e);
                    }
                    if (intended >= measureFrom) {
                        lateness.recordValue(Math.max(0, late));
                        sent++;
                    }
                    // The cost reading is taken between the last warm-up send and the first measured
                    // one, so the wait for the next send time absorbs it.
                    if (first == null && start + (long) ((i + 1) * 1e9 / o.rate) >= measureFrom) {
                        first = Cost.now();
                    }
                }
                long deadline = System.nanoTime() + DRAIN_NANOS;
                while (recorder.count.get() < sent && System.nanoTime() - deadline < 0) {
                    Thread.sleep(10);
                }
                // Read while the consumer's threads still run: a stopped thread's allocation counter is gone.
                cost = Cost.now().since(first, (int) Math.max(1, sent));
            }
            return new Result(sideName, recorder.latency.copy(), recorder.fromSend.copy(), lateness, sent, recorder.count.get(),
                    side.failures.get(), cost, loadBefore, load());
        } finally {
            broker.delete(queue);
        }
    }

    /** Sleeps until {@code System.nanoTime()} reaches {@code at} (parking, not spinning: the machine's cores are shared). */
    private static void waitUntil(long at) throws InterruptedException {
        for (long left = at - System.nanoTime(); left > 0; left = at - System.nanoTime()) {
            LockSupport.parkNanos(Math.min(left, MAX_PARK_NANOS));
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting to send");
            }
        }
    }

    /** The system's load average over the last minute, as {@code uptime} shows it. */
    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /**
     * The handler of both sides: records the latency of each measured message. Called on the
     * consumer's handler thread (raw: the client's consuming thread; resq: the processor's worker).
     */
    static final class Recorder implements Consumer<String> {
        private final int rate;
        /** When each send call started, by message number; written by the sending thread before the send. */
        private final AtomicLongArray sendStarts;
        /** The schedule's start; written before {@link #measureFrom}, whose volatile write publishes it. */
        private long start;
        /** Intended send time from which messages count; set by the sending thread before its first send. */
        private volatile long measureFrom = Long.MAX_VALUE;
        final Histogram latency = new ConcurrentHistogram(3);
        final Histogram fromSend = new ConcurrentHistogram(3);
        final AtomicLong count = new AtomicLong();

        Recorder(int messages, int rate) {
            this.sendStarts = new AtomicLongArray(messages);
            this.rate = rate;
        }

        /** Sending thread, before its first send: the schedule's start and the first intended time measured. */
        void start(long scheduleStart, long measuredFrom) {
            this.start = scheduleStart;
            this.measureFrom = measuredFrom;
        }

        /** Sending thread: message {@code i}'s send call starts now ({@code at}). */
        void sendStarted(int i, long at) {
            sendStarts.set(i, at);
        }

        @Override
        public void accept(String body) {
            long now = System.nanoTime();
            long intended = TimedBody.sentAt(body);
            long from = measureFrom;
            if (intended >= from) {
                latency.recordValue(Math.max(0, now - intended));
                // The schedule is start + i / rate (truncated to whole nanoseconds), so i comes back by rounding.
                int i = (int) Math.round((intended - start) * (double) rate / 1e9);
                fromSend.recordValue(Math.max(0, now - sendStarts.get(i)));
                count.incrementAndGet();
            }
        }
    }

    /** The arguments; see the class comment. */
    /** Every side, in the order of odd rounds. */
    private static final List<String> SIDES = List.of("raw", "spi", "resq");

    private record Options(String broker, int rate, int warmupSeconds, int measuredSeconds, int rounds, List<String> sides,
                           Map<String, Object> producer, QueueType queueType, int prefetch) {

        static Options parse(String[] args) {
            if (args.length < 1) {
                throw new IllegalArgumentException("usage: LatencyBenchmark memory|kafka|redis|rabbitmq|sqs [rate msg/s] "
                        + "[warm-up s] [measured s] [rounds] [sides=raw,spi,resq] [queue=quorum|classic] [prefetch=<n>] [producer.<kafka setting>=<value>...]");
            }
            List<Integer> numbers = new ArrayList<>();
            List<String> sides = SIDES;
            Map<String, Object> producer = new LinkedHashMap<>();
            QueueType queueType = QueueType.QUORUM;
            int prefetch = 0;
            for (int i = 1; i < args.length; i++) {
                String a = args[i];
                int eq = a.indexOf('=');
                if (eq < 0) {
                    numbers.add(Integer.parseInt(a));
                } else if (a.startsWith("sides=")) {
                    sides = List.of(a.substring(eq + 1).split(","));
                    if (!SIDES.containsAll(sides)) {
                        throw new IllegalArgumentException("sides must be some of raw,spi,resq, was " + a.substring(eq + 1));
                    }
                } else if (a.startsWith("queue=")) {
                    queueType = QueueType.valueOf(a.substring(eq + 1).toUpperCase());
                    if (!args[0].equals("rabbitmq")) {
                        throw new IllegalArgumentException("queue=<type> is for rabbitmq only, broker was " + args[0]);
                    }
                } else if (a.startsWith("prefetch=")) {
                    prefetch = Integer.parseInt(a.substring(eq + 1));
                    if (prefetch < 1) {
                        throw new IllegalArgumentException("prefetch must be >= 1, was " + prefetch);
                    }
                } else if (a.startsWith("producer.")) {
                    producer.put(a.substring("producer.".length(), eq), a.substring(eq + 1));
                } else {
                    throw new IllegalArgumentException("unknown option " + a + " (sides=..., queue=..., prefetch=... or producer.<setting>=...)");
                }
            }
            int rate = numbers.size() > 0 ? numbers.get(0) : 1_000;
            int warmup = numbers.size() > 1 ? numbers.get(1) : 10;
            int measured = numbers.size() > 2 ? numbers.get(2) : 30;
            int rounds = numbers.size() > 3 ? numbers.get(3) : 1;
            if (rate < 1 || rate > 1_000_000) {
                throw new IllegalArgumentException("rate must be between 1 and 1,000,000 msg/s, was " + rate);
            }
            if (warmup < 0 || measured < 1 || rounds < 1) {
                throw new IllegalArgumentException("warm-up must be >= 0 s, measured >= 1 s and rounds >= 1, were "
                        + warmup + ", " + measured + ", " + rounds);
            }
            if ((long) rate * (warmup + measured) > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("rate x (warm-up + measured) must stay below 2^31 messages");
            }
            if (!producer.isEmpty() && !args[0].equals("kafka")) {
                throw new IllegalArgumentException("producer.<setting> options are for kafka only, broker was " + args[0]);
            }
            return new Options(args[0], rate, warmup, measured, rounds, sides, producer, queueType, prefetch);
        }
    }

    // ------------------------------------------------------------------ sides

    /**
     * One way of moving messages: the raw client or resq. The sending thread calls {@link #send};
     * the consumer calls the handler on its own thread(s). Failures of either are counted.
     */
    abstract static class Side implements AutoCloseable {
        final AtomicLong failures = new AtomicLong();
        private final AtomicBoolean reported = new AtomicBoolean();

        /** Starts consuming {@code queue}; {@code handler} gets each message's body; closing stops it. */
        abstract AutoCloseable consume(String queue, Consumer<String> handler) throws Exception;

        /** Sends {@code body} to {@code queue}, waiting no longer than the client's own send call does. */
        abstract void send(String queue, String body) throws Exception;

        /** A send's completion: counts it if it failed. Any thread. */
        void settled(Object result, Throwable e) {
            if (e != null) {
                failed(e);
            }
        }

        /** Counts a failed send or handler call; the first is printed. Any thread. */
        void failed(Throwable e) {
            failures.incrementAndGet();
            if (reported.compareAndSet(false, true)) {
                System.out.println("first failure: " + e);
            }
        }

        @Override
        public void close() throws Exception {
        }
    }

    /** resq: {@code Enqueue.sendAsync}; a processor with defaults whose handler is the recorder. */
    static final class ResqSide extends Side {
        private final Queues queues;
        private final Map<String, Enqueue<String>> enqueues = new ConcurrentHashMap<>();

        private final int prefetch;

        /** @param prefetch the processor's prefetch, or 0 for the default */
        ResqSide(Transport transport, int prefetch) {
            this.queues = Queues.using(transport);
            this.prefetch = prefetch;
        }

        @Override
        AutoCloseable consume(String queue, Consumer<String> handler) {
            ProcessorBuilder<String> b = queues.processor(queue, String.class).group(GROUP).handler(handler::accept);
            Processor<String> p = (prefetch > 0 ? b.prefetch(prefetch) : b).start();
            return p::close;
        }

        @Override
        void send(String queue, String body) {
            enqueues.computeIfAbsent(queue, q -> queues.enqueue(q, String.class)).sendAsync(body).whenComplete(this::settled);
        }

        @Override
        public void close() {
            queues.close();
        }
    }

    /**
     * The resq transport alone: its {@code Sender}, and one thread polling its {@code Receiver}
     * (as many at a time and as long as the processor's fetch thread asks for), decoding the same
     * hand-written envelope as the raw side, calling the handler and acking. No processor, no
     * resq codec: between the raw side and resq, it shows which part of the added latency is the
     * transport's and which the core's.
     */
    static final class SpiSide extends Side {
        private final Transport transport;
        private final Map<String, Sender> senders = new ConcurrentHashMap<>();

        private final int prefetch;

        /** @param prefetch the receiver's prefetch, or 0 for the transport's default for one handler */
        SpiSide(Transport transport, int prefetch) {
            this.transport = transport;
            this.prefetch = prefetch > 0 ? prefetch : transport.defaultPrefetch(1);
        }

        @Override
        AutoCloseable consume(String queue, Consumer<String> handler) {
            Receiver receiver = transport.receiver(queue, new ReceiverOptions(GROUP, prefetch));
            AutoCloseable polling = loop("latency-spi-consumer", this, () -> {
                for (Delivery d : receiver.poll(16, Duration.ofMillis(200))) {
                    handler.accept(EnvelopeJson.read(d.body()).payload());
                    d.ack();
                }
            });
            return () -> {
                polling.close();
                receiver.close();
            };
        }

        @Override
        void send(String queue, String body) {
            EnvelopeJson envelope = EnvelopeJson.of(queue, body);
            senders.computeIfAbsent(queue, transport::sender).send(Outbound.of(envelope.id(), envelope.toBytes())).whenComplete(this::settled);
        }

        @Override
        public void close() {
            transport.close();
        }
    }

    /** One step of a raw consumer's loop: wait for messages (bounded), hand each to the handler, settle them. */
    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }

    /**
     * Runs {@code step} over and over on a thread of its own (which owns the client calls inside it)
     * until the returned handle is closed; a failing step is counted and the loop goes on.
     */
    static AutoCloseable loop(String name, Side side, Step step) {
        AtomicBoolean stop = new AtomicBoolean();
        Thread t = new Thread(() -> {
            while (!stop.get()) {
                try {
                    step.run();
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    side.failed(e);
                }
            }
        }, name);
        t.start();
        return () -> {
            stop.set(true);
            t.join();
        };
    }

    /** Raw in-memory: envelope bytes through an {@link ArrayBlockingQueue}, one thread taking and decoding. */
    static final class MemoryRaw extends Side {
        private final Map<String, BlockingQueue<byte[]>> queues = new ConcurrentHashMap<>();

        private BlockingQueue<byte[]> queue(String name) {
            return queues.computeIfAbsent(name, q -> new ArrayBlockingQueue<>(1 << 16));
        }

        @Override
        AutoCloseable consume(String queue, Consumer<String> handler) {
            BlockingQueue<byte[]> in = queue(queue);
            return loop("latency-raw-memory", this, () -> {
                byte[] body = in.poll(100, TimeUnit.MILLISECONDS);
                if (body != null) {
                    handler.accept(EnvelopeJson.read(body).payload());
                }
            });
        }

        @Override
        void send(String queue, String body) throws InterruptedException {
            queue(queue).put(EnvelopeJson.of(queue, body).toBytes());
        }
    }

    /** Raw Kafka: the raw+decode side of {@link KafkaBenchmark}, sending with the given producer settings. */
    static final class KafkaRaw extends Side {
        private final KafkaBenchmark.RawDecode client;

        KafkaRaw(String bootstrap, Map<String, Object> producerSettings) {
            this.client = new KafkaBenchmark.RawDecode(bootstrap, producerSettings);
        }

        @Override
        AutoCloseable consume(String topic, Consumer<String> handler) {
            return client.consume(topic, handler);
        }

        @Override
        void send(String topic, String body) {
            client.send(topic, body, e -> settled(null, e));
        }

        @Override
        public void close() {
            if (client.failures.get() > 0) {
                failed(new IllegalStateException(client.failures.get() + " records failed to decode or handle"));
            }
            client.close();
        }
    }

    /** Raw Redis Streams: {@code XADD}; {@code XREADGROUP} blocking, {@code XACK} after each handler call. */
    static final class RedisRaw extends Side {
        private final RedisClient client;

        RedisRaw(String uri) {
            this.client = RedisClient.create(uri);
        }

        @Override
        AutoCloseable consume(String stream, Consumer<String> handler) {
            try {
                client.xgroupCreate(stream, GROUP, new StreamEntryID(0, 0), true);
            } catch (JedisDataException e) {
                // BUSYGROUP: the group exists already
            }
            Map<String, StreamEntryID> from = Map.of(stream, StreamEntryID.XREADGROUP_UNDELIVERED_ENTRY);
            XReadGroupParams params = XReadGroupParams.xReadGroupParams().count(16).block(200);
            return loop("latency-raw-redis", this, () -> {
                List<Map.Entry<String, List<StreamEntry>>> got = client.xreadGroup(GROUP, "raw", params, from);
                for (Map.Entry<String, List<StreamEntry>> s : got == null ? List.<Map.Entry<String, List<StreamEntry>>>of() : got) {
                    for (StreamEntry e : s.getValue()) {
                        handler.accept(EnvelopeJson.read(e.getFields().get("body")).payload());
                        client.xack(stream, GROUP, e.getID());
                    }
                }
            });
        }

        @Override
        void send(String stream, String body) {
            EnvelopeJson envelope = EnvelopeJson.of(stream, body);
            client.xadd(stream, StreamEntryID.NEW_ENTRY, Map.of("resq-id", envelope.id(), "body", envelope.toJson()));
        }

        @Override
        public void close() {
            client.close();
        }
    }

    /** Raw RabbitMQ: publishes confirmed by a listener; a push consumer acking after each handler call. */
    static final class RabbitRaw extends Side {
        /** resq's default prefetch for one handler on RabbitMQ (concurrency + 1). */
        private static final int DEFAULT_PREFETCH = 2;
        private final QueueType type;
        private final int prefetch;
        private final Connection publisher;
        private final Connection subscriber;
        private final Channel out;

        /** @param prefetch {@code basic.qos}, or 0 for resq's default */
        RabbitRaw(ConnectionFactory factory, QueueType type, int prefetch) throws Exception {
            this.type = type;
            this.prefetch = prefetch > 0 ? prefetch : DEFAULT_PREFETCH;
            this.publisher = factory.newConnection("latency-raw-publisher");
            this.subscriber = factory.newConnection("latency-raw-consumer");
            this.out = publisher.createChannel();
            out.confirmSelect();
            out.addConfirmListener((tag, multiple) -> { }, (tag, multiple) -> failed(new IllegalStateException("publish nacked")));
        }

        @Override
        AutoCloseable consume(String queue, Consumer<String> handler) throws Exception {
            Channel in = subscriber.createChannel();
            in.queueDeclare(queue, true, false, false, Map.of("x-queue-type", type.name().toLowerCase()));
            in.basicQos(prefetch);
            in.basicConsume(queue, false, new DefaultConsumer(in) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                    try {
                        handler.accept(EnvelopeJson.read(body).payload());
                        getChannel().basicAck(envelope.getDeliveryTag(), false);
                    } catch (Exception e) {
                        failed(e);
                    }
                }
            });
            return in::close;
        }

        @Override
        void send(String queue, String body) throws Exception {
            EnvelopeJson envelope = EnvelopeJson.of(queue, body);
            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().messageId(envelope.id()).deliveryMode(2).build();
            out.basicPublish("", queue, true, props, envelope.toBytes());
        }

        @Override
        public void close() throws Exception {
            publisher.close();
            subscriber.close();
        }
    }

    /** Raw SQS: {@code SendMessage}; one thread long-polling and deleting each batch after its handler calls. */
    static final class SqsRaw extends Side {
        private final SqsClient client;
        private final Map<String, String> urls = new ConcurrentHashMap<>();

        SqsRaw(SqsClient client) {
            this.client = client;
        }

        private String url(String queue) {
            return urls.computeIfAbsent(queue, q -> client.getQueueUrl(r -> r.queueName(q)).queueUrl());
        }

        @Override
        AutoCloseable consume(String queue, Consumer<String> handler) {
            String url = url(queue);
            return loop("latency-raw-sqs", this, () -> {
                List<Message> got = client.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10).waitTimeSeconds(1)).messages();
                List<DeleteMessageBatchRequestEntry> deletes = new ArrayList<>(got.size());
                for (Message m : got) {
                    handler.accept(EnvelopeJson.read(m.body()).payload());
                    deletes.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(deletes.size()))
                            .receiptHandle(m.receiptHandle()).build());
                }
                if (!deletes.isEmpty()) {
                    client.deleteMessageBatch(r -> r.queueUrl(url).entries(deletes));
                }
            });
        }

        @Override
        void send(String queue, String body) {
            client.sendMessage(r -> r.queueUrl(url(queue)).messageBody(EnvelopeJson.of(queue, body).toJson()));
        }
    }

    // ------------------------------------------------------------------ brokers

    /** Names (and, where the broker needs it, creates) a fresh queue for one side's round. */
    @FunctionalInterface
    interface QueueMaker {
        String make(String prefix) throws Exception;
    }

    /** Removes what a round left on the broker under a queue's name. */
    @FunctionalInterface
    interface QueueCleanup {
        void delete(String queue) throws Exception;
    }

    /**
     * A broker both sides use.
     *
     * @param description what and where it is, and the settings both sides share
     * @param raw         a new raw side
     * @param transport   a new resq transport with the transport's defaults (closed with the resq side)
     * @param queues      fresh queues
     * @param cleanup     removes a round's queue
     * @param resources   closed at the end (an embedded broker, a shared client)
     */
    record Broker(String description, Callable<Side> raw, Supplier<Transport> transport, QueueMaker queues, QueueCleanup cleanup,
                  AutoCloseable resources) implements AutoCloseable {

        static Broker of(Options o) throws Exception {
            Map<String, Object> producer = o.producer;
            QueueType queueType = o.queueType;
            switch (o.broker) {
                case "memory":
                    return new Broker("in-memory (raw: ArrayBlockingQueue)", MemoryRaw::new, InMemoryTransport::create,
                            Broker::unique, q -> { }, () -> { });
                case "kafka": {
                    Brokers.Kafka kafka = Brokers.Kafka.start();
                    Map<String, Object> settings = new LinkedHashMap<>(Map.of("bootstrap.servers", kafka.bootstrap(), "acks", "all"));
                    settings.putAll(producer);
                    return new Broker("Kafka " + kafka + ", producer settings of both sides " + settings + " (Kafka's defaults otherwise)",
                            () -> new KafkaRaw(kafka.bootstrap(), settings), () -> KafkaTransport.create(settings),
                            prefix -> KafkaBenchmark.topic(kafka.bootstrap(), prefix), q -> { }, kafka);
                }
                case "redis": {
                    String uri = Brokers.redisUri();
                    return new Broker("Redis Streams at " + uri.replaceAll("//[^@/]*@", "//***@"), () -> new RedisRaw(uri),
                            () -> RedisTransport.create(uri), Broker::unique, q -> {
                                try (RedisClient client = RedisClient.create(uri)) {
                                    client.del(q, q + "_deadletter");
                                }
                            }, () -> { });
                }
                case "rabbitmq": {
                    ConnectionFactory factory = Brokers.rabbitMq();
                    return new Broker("RabbitMQ at " + factory.getHost() + ":" + factory.getPort() + ", "
                            + queueType.name().toLowerCase() + " queues, persistent messages, publisher confirms",
                            () -> new RabbitRaw(factory, queueType, o.prefetch),
                            () -> RabbitMqTransport.builder(factory).queueType(queueType).build(), Broker::unique,
                            q -> RabbitMqBenchmark.deleteQueues(factory, q, q + "_deadletter"), () -> { });
                }
                case "sqs": {
                    Brokers.Sqs sqs = Brokers.Sqs.start();
                    SqsClient client = sqs.client();
                    return new Broker("SQS at " + sqs + ", standard queues", () -> new SqsRaw(client),
                            () -> SqsTransport.create(client), prefix -> {
                                String q = unique(prefix);
                                client.createQueue(r -> r.queueName(q));
                                return q;
                            }, q -> {
                                String url = client.getQueueUrl(r -> r.queueName(q)).queueUrl();
                                client.deleteQueue(r -> r.queueUrl(url));
                            }, () -> {
                                client.close();
                                sqs.close();
                            });
                }
                default:
                    throw new IllegalArgumentException("broker must be memory, kafka, redis, rabbitmq or sqs, was " + o.broker);
            }
        }

        private static String unique(String prefix) {
            return prefix + UUID.randomUUID().toString().substring(0, 8);
        }

        String newQueue(String side) throws Exception {
            return queues.make("latency_" + side + "_");
        }

        void delete(String queue) throws Exception {
            cleanup.delete(queue);
        }

        @Override
        public void close() throws Exception {
            resources.close();
        }
    }
}
