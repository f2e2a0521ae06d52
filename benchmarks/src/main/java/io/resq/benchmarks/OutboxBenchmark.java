package io.resq.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.jdbc.Inbox;
import io.resq.jdbc.Outbox;
import io.resq.jdbc.OutboxRelay;
import io.resq.kafka.KafkaTransport;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Transport;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;
import javax.sql.DataSource;

/**
 * What resq-jdbc costs, on the local PostgreSQL and the in-memory transport, each figure beside its
 * baseline from the same run:
 *
 * <ul>
 *   <li><b>relay</b>: {@code messages} rows already committed in the outbox (not timed), then the time
 *       until one {@link OutboxRelay} has sent and deleted them all; baseline: the same orders sent
 *       one by one with {@code Enqueue.send} (synchronous, as a request handler would);</li>
 *   <li><b>outbox write</b>: one transaction per order that writes it with {@code Outbox.send} and
 *       commits, one thread; baseline: {@code Enqueue.send} (the same as above);</li>
 *   <li><b>inbox</b>: {@code messages} orders in the queue (not timed), then the time until a processor
 *       (concurrency 4, no-op handler) has acked them all, with the handler wrapped by
 *       {@link Inbox#handler} and without; the difference per message is the inbox's cost (a
 *       connection, a transaction, one insert and a commit).</li>
 * </ul>
 *
 * A warm-up round, then {@code rounds} measured rounds; medians are printed. Plain {@code main()},
 * because a round is a whole drain with threads and database sessions starting and stopping.
 * Connections come from a HikariCP pool of 8. Arguments: [messages [rounds]]; {@code RESQ_POSTGRES_URL}
 * points at another database.
 *
 * <p>Run: {@code benchmarks/run OutboxBenchmark 20000 3} (it starts the local PostgreSQL cluster if
 * it does not answer, unless {@code RESQ_POSTGRES_URL} is set).
 */
public final class OutboxBenchmark {

    private static final String QUEUE = "orders";
    private static final int CONCURRENCY = 4;

    private final DataSource db;
    private final int messages;
    private final CoreOrder[] orders;

    private OutboxBenchmark(DataSource db, int messages) {
        this.db = db;
        this.messages = messages;
        this.orders = CoreOrder.samples(messages);
    }

    /** Runs the benchmark and prints its table. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(Brokers.postgresUrl());
        pool.setMaximumPoolSize(8);
        // A pool, as applications have one: opening a PostgreSQL session per message would dominate every figure.
        try (HikariDataSource ds = new HikariDataSource(pool)) {
            new OutboxBenchmark(ds, n).run(rounds);
        }
    }

    private void run(int rounds) throws Exception {
        double[] relay = new double[rounds];
        double[] write = new double[rounds];
        double[] direct = new double[rounds];
        double[] inbox = new double[rounds];
        double[] plain = new double[rounds];
        for (int r = -1; r < rounds; r++) {
            double d = directSends();
            double rl = relayRound();
            double w = writeRound();
            double p = processorRound(false);
            double i = processorRound(true);
            if (r >= 0) {
                direct[r] = d;
                relay[r] = rl;
                write[r] = w;
                plain[r] = p;
                inbox[r] = i;
            }
            System.out.printf("round %d: direct %.0f, relay %.0f, outbox write %.0f, processor %.0f, with inbox %.0f msg/s%n",
                    r, d, rl, w, p, i);
        }
        double dm = median(direct);
        double pm = median(plain);
        double im = median(inbox);
        System.out.println();
        System.out.printf("%d messages, %d rounds, medians%n", messages, rounds);
        System.out.println("| benchmark | resq-jdbc msg/s | baseline msg/s | ratio |");
        System.out.println("|---|---|---|---|");
        System.out.printf("| relay (committed rows to the in-memory transport) vs Enqueue.send | %.0f | %.0f | %.2f |%n", median(relay), dm, median(relay) / dm);
        System.out.printf("| outbox write (one transaction per message) vs Enqueue.send | %.0f | %.0f | %.2f |%n", median(write), dm, median(write) / dm);
        System.out.printf("| processor with inbox vs without (concurrency %d) | %.0f | %.0f | %.2f |%n", CONCURRENCY, im, pm, im / pm);
        System.out.printf("inbox overhead: %.1f µs per message (wall clock, %d handlers at once)%n", (1e6 / im) - (1e6 / pm), CONCURRENCY);
        kafka(rounds);
    }

    /**
     * Relay to Kafka beside pipelined {@code Enqueue.sendAsync} (up to 5,000 in flight, as the Kafka
     * benchmark's producer): a synchronous send per message would wait a round trip each and make
     * the relay, which batches, look better than it is.
     */
    private void kafka(int rounds) throws Exception {
        try (Brokers.Kafka kafka = Brokers.Kafka.start()) {
            Map<String, Object> config = Map.of("bootstrap.servers", kafka.bootstrap());
            double[] relay = new double[rounds];
            double[] direct = new double[rounds];
            for (int r = -1; r < rounds; r++) {
                double d = pipelinedSends(KafkaTransport.create(config));
                double rl = relayRound(KafkaTransport.create(config));
                if (r >= 0) {
                    direct[r] = d;
                    relay[r] = rl;
                }
                System.out.printf("kafka round %d: direct sendAsync %.0f, relay %.0f msg/s%n", r, d, rl);
            }
            System.out.printf("| relay to Kafka vs Enqueue.sendAsync (5,000 in flight) | %.0f | %.0f | %.2f |%n", median(relay),
                    median(direct), median(relay) / median(direct));
        }
    }

    /** Every order through {@code sendAsync}, at most 5,000 unconfirmed at a time. */
    private double pipelinedSends(Transport t) {
        try (Queues queues = Queues.using(t)) {
            Enqueue<CoreOrder> out = queues.enqueue(QUEUE + "_direct_" + UUID.randomUUID().toString().substring(0, 8), CoreOrder.class);
            java.util.ArrayDeque<java.util.concurrent.CompletableFuture<Msg<CoreOrder>>> window = new java.util.ArrayDeque<>();
            long start = System.nanoTime();
            for (CoreOrder o : orders) {
                if (window.size() == 5_000) {
                    window.poll().join();
                }
                window.add(out.sendAsync(Msg.builder(o).key(o.customer()).build()));
            }
            window.forEach(java.util.concurrent.CompletableFuture::join);
            return rate(start);
        }
    }

    /** Baseline: synchronous Enqueue.send of every order. */
    private double directSends() {
        InMemoryTransport t = InMemoryTransport.create();
        try (Queues queues = Queues.using(t)) {
            Enqueue<CoreOrder> out = queues.enqueue(QUEUE, CoreOrder.class);
            long start = System.nanoTime();
            for (CoreOrder o : orders) {
                out.send(Msg.builder(o).key(o.customer()).build());
            }
            return rate(start);
        }
    }

    private double relayRound() throws Exception {
        return relayRound(InMemoryTransport.create());
    }

    /** Committed rows relayed to {@code t}, timed from the relay's start until every row is confirmed. */
    private double relayRound(Transport t) throws Exception {
        String table = table("bench_outbox");
        try (Queues queues = Queues.using(t)) {
            Outbox outbox = Outbox.builder(queues).table(table).build();
            try (Connection c = db.getConnection()) {
                outbox.createSchema(c);
                c.setAutoCommit(false);
                for (int i = 0; i < orders.length; i++) {
                    outbox.send(c, QUEUE, Msg.builder(orders[i]).key(orders[i].customer()).build());
                    if (i % 500 == 499) {
                        c.commit();
                    }
                }
                c.commit();
            }
            long start = System.nanoTime();
            try (OutboxRelay relay = OutboxRelay.builder(db, t).table(table).build().start()) {
                waitFor(() -> relay.health().sent());
                return rate(start);
            }
        } finally {
            drop(table);
        }
    }

    private double writeRound() throws Exception {
        String table = table("bench_write");
        try (Queues queues = Queues.using(InMemoryTransport.create())) {
            Outbox outbox = Outbox.builder(queues).table(table).build();
            try (Connection c = db.getConnection()) {
                outbox.createSchema(c);
                c.setAutoCommit(false);
                long start = System.nanoTime();
                for (CoreOrder o : orders) {
                    outbox.send(c, QUEUE, Msg.builder(o).key(o.customer()).build());
                    c.commit();
                }
                return rate(start);
            }
        } finally {
            drop(table);
        }
    }

    private double processorRound(boolean withInbox) throws Exception {
        String table = table("bench_inbox");
        InMemoryTransport t = InMemoryTransport.create();
        try (Queues queues = Queues.using(t); Inbox inbox = Inbox.builder(db).table(table).group("bench").build()) {
            inbox.createSchema();
            Enqueue<CoreOrder> out = queues.enqueue(QUEUE, CoreOrder.class);
            for (CoreOrder o : orders) {
                out.send(o);
            }
            long start = System.nanoTime();
            var builder = queues.processor(QUEUE, CoreOrder.class).concurrency(CONCURRENCY);
            Processor<CoreOrder> p = withInbox
                    ? builder.msgHandler(inbox.handler((msg, c) -> { })).start()
                    : builder.handler(o -> { }).start();
            waitFor(() -> p.health().succeeded());
            return rate(start);
        } finally {
            drop(table);
        }
    }

    private void waitFor(LongSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (done.getAsLong() < messages) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not done within 5 minutes: " + done.getAsLong() + " of " + messages);
            }
            Thread.sleep(2);
        }
    }

    private double rate(long start) {
        return messages / ((System.nanoTime() - start) / 1e9);
    }

    private static String table(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    private void drop(String table) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_deadletter");
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
