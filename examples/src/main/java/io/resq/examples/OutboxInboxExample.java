package io.resq.examples;

import io.resq.Listener;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.jdbc.Inbox;
import io.resq.jdbc.Outbox;
import io.resq.jdbc.OutboxRelay;
import io.resq.memory.InMemoryTransport;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The transactional outbox and the idempotent inbox (module {@code resq-jdbc}) on the in-memory
 * transport and a local PostgreSQL. Placing an order writes the {@code orders} row and an
 * {@link OrderPlaced} message in one transaction; an {@link OutboxRelay} sends the message once that
 * transaction committed; the billing consumer charges the order in the {@link Inbox}'s transaction,
 * so when the broker delivers the message a second time (simulated here, as after a lost ack) the
 * order is not charged again. A second order whose transaction rolls back sends nothing.
 *
 * <p>Needs PostgreSQL on 127.0.0.1:5432 with a database {@code test} the user {@code postgres} may
 * use (or {@code RESQ_POSTGRES_URL}); it creates and drops tables named {@code example_*}. Run it
 * with {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.OutboxInboxExample}
 * after {@code mvn -q install -DskipTests}.
 */
public final class OutboxInboxExample {

    /** The database of the example unless {@code RESQ_POSTGRES_URL} names another. */
    public static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
    private static final String QUEUE = "orders.placed";
    private static final long WAIT_SECONDS = 20;

    private OutboxInboxExample() {
    }

    /** Runs the example, printing to standard output. */
    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** The example's database: {@code RESQ_POSTGRES_URL} or {@link #DEFAULT_URL}. */
    static DataSource dataSource() {
        String url = System.getenv("RESQ_POSTGRES_URL");
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(url == null || url.isBlank() ? DEFAULT_URL : url);
        return ds;
    }

    /** Runs the example, printing to {@code out}; throws if something did not happen as described. */
    static void run(PrintStream out) throws Exception {
        DataSource db = dataSource();
        createTables(db);
        InMemoryTransport transport = InMemoryTransport.create();
        Listener deliveries = new Listener() {
            @Override
            public void onReceived(Msg<?> msg) {
                out.println("  broker delivers order " + ((OrderPlaced) msg.payload()).orderId() + ", message " + msg.id());
            }
        };
        try (Queues queues = Queues.using(transport);
             Inbox inbox = Inbox.builder(db).table("example_inbox").group("billing").build()) {
            Outbox outbox = Outbox.builder(queues).table("example_outbox").build();
            try (Connection c = db.getConnection()) {
                outbox.createSchema(c);   // quick start only: production schemas go in migrations
            }
            inbox.createSchema();

            // The consumer: charges in the inbox's transaction, so the charge and "message done" commit together.
            Processor<OrderPlaced> billing = queues.processor(QUEUE, OrderPlaced.class).group("billing")
                    .listener(deliveries)
                    .msgHandler(inbox.handler((msg, connection) -> charge(connection, msg.payload(), out)))
                    .start();
            try (OutboxRelay relay = OutboxRelay.builder(db, queues).table("example_outbox").build().start()) {
                placeAndCharge(db, queues, outbox, inbox, out);
                relay.close();   // the relay keeps its counters: read them below
                out.println();
                out.println("orders in the database: " + list(db, "SELECT string_agg(id || ' ' || status, ', ' ORDER BY id) FROM example_orders"));
                out.println("charges in the database: " + list(db, "SELECT string_agg(order_id || ' ' || amount, ', ') FROM example_charges"));
                out.println("deliveries handled: " + billing.health().succeeded() + ", charged " + inbox.handled()
                        + ", skipped as already processed " + inbox.skipped() + ", relayed " + relay.health().sent());
            }
        }
        out.println("done: queues closed");
    }

    /** Steps 1 to 3: an order placed, an order rolled back, a message delivered twice. */
    private static void placeAndCharge(DataSource db, Queues queues, Outbox outbox, Inbox inbox, PrintStream out) throws Exception {
        out.println("1. Place order 1001: the order row and OrderPlaced commit together");
        Msg<OrderPlaced> placed = placeOrder(db, outbox, new OrderPlaced(1001, "alice", new BigDecimal("19.99")), true);
        await(() -> inbox.handled() == 1, "order 1001 charged");

        out.println("2. Place order 1002, but its transaction rolls back: no row, no message");
        placeOrder(db, outbox, new OrderPlaced(1002, "bob", new BigDecimal("5.00")), false);

        out.println("3. The broker delivers order 1001's message again (as after a lost ack)");
        queues.enqueue(QUEUE, OrderPlaced.class).send(placed);
        await(() -> inbox.skipped() == 1, "the second delivery skipped");
    }

    /** Stores the order and its event in one transaction, committed or rolled back. */
    private static Msg<OrderPlaced> placeOrder(DataSource db, Outbox outbox, OrderPlaced order, boolean commit) throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO example_orders (id, customer, amount, status) VALUES (?, ?, ?, 'placed')")) {
                ps.setLong(1, order.orderId());
                ps.setString(2, order.customer());
                ps.setBigDecimal(3, order.amount());
                ps.executeUpdate();
            }
            Msg<OrderPlaced> msg = outbox.send(c, QUEUE, Msg.builder(order).key(order.customer()).category("OrderPlaced").build());
            if (commit) {
                c.commit();
            } else {
                c.rollback();
            }
            return msg;
        }
    }

    /** The consumer's work: a charge row and the order's status, in the inbox's transaction. */
    private static void charge(Connection c, OrderPlaced order, PrintStream out) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO example_charges (order_id, amount) VALUES (?, ?)")) {
            ps.setLong(1, order.orderId());
            ps.setBigDecimal(2, order.amount());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE example_orders SET status = 'charged' WHERE id = ?")) {
            ps.setLong(1, order.orderId());
            ps.executeUpdate();
        }
        out.println("  charged order " + order.orderId() + ": " + order.amount());
    }

    private static void createTables(DataSource db) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS example_orders, example_charges, example_outbox, example_outbox_deadletter, example_inbox");
            s.execute("CREATE TABLE example_orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(12, 2) NOT NULL, status TEXT NOT NULL)");
            s.execute("CREATE TABLE example_charges (order_id BIGINT NOT NULL, amount NUMERIC(12, 2) NOT NULL)");
        }
    }

    private static String list(DataSource db, String sql) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not within " + WAIT_SECONDS + " s: " + what);
            }
            Thread.sleep(10);
        }
    }
}
