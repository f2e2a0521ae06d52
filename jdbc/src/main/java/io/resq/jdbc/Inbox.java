package io.resq.jdbc;

import io.resq.MsgHandler;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a processor's handler idempotent: each message id is handled once per consumer group,
 * however often the broker delivers it. The handler runs in a database transaction in which the
 * inbox has recorded the id; its own writes and that record commit together, so a later delivery
 * of the same id finds the record and is acked without calling the handler.
 *
 * <pre>{@code
 * Inbox inbox = Inbox.builder(dataSource).group("billing").build();
 * queues.processor("orders", OrderPlaced.class)
 *       .msgHandler(inbox.handler((msg, connection) -> charge(connection, msg.payload())))
 *       .start();
 * }</pre>
 *
 * <p><b>How.</b> Per delivery: take a connection, begin a transaction, {@code INSERT} (group, id) with
 * {@code ON CONFLICT DO NOTHING} on the primary key. No row inserted: the id was processed, so roll
 * back and return (the processor acks). One row: call the handler, then commit. A handler that
 * throws rolls everything back, the record included, and the processor's retry, redelivery and
 * dead-letter policy applies as usual. Two deliveries of one id at once: the second's insert waits
 * for the first's transaction; after its commit the second skips, after its rollback the second runs.
 *
 * <p><b>What it does not cover.</b> Only what the handler writes through {@code connection} is
 * exactly-once. A call to another system (an HTTP request, an email) from the handler may still
 * happen twice: when the commit fails after it, or when a concurrent duplicate rolled back.
 *
 * <p><b>Retention.</b> Records older than {@link Builder#retention(Duration)} are deleted every
 * {@link Builder#pruneInterval(Duration)} by a background thread (or by {@link #prune()}); keep
 * retention well above the longest time a message can take to come back (redelivery delays, a
 * redrive from the dead-letter queue), or such a message is handled again.
 *
 * <p>Thread-safe: one per group, shared by every handler thread. {@link #close()} stops the pruning.
 */
public final class Inbox implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Inbox.class);

    /** The default inbox table. */
    public static final String DEFAULT_TABLE = "resq_inbox";
    /** How long records are kept by default: 7 days. */
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
    /** How often old records are deleted by default: every hour. */
    public static final Duration DEFAULT_PRUNE_INTERVAL = Duration.ofHours(1);
    private static final int PRUNE_CHUNK = 1000;

    private final DataSource dataSource;
    private final String table;
    private final String group;
    private final Duration retention;
    private final String claim;
    private final String prune;
    private final ScheduledExecutorService pruner;
    private final AtomicLong handled = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();

    private Inbox(Builder b) {
        this.dataSource = b.dataSource;
        this.table = b.table;
        this.group = b.group;
        this.retention = b.retention;
        this.claim = "INSERT INTO " + table + " (group_name, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING";
        this.prune = "DELETE FROM " + table + " WHERE ctid IN (SELECT ctid FROM " + table
                + " WHERE processed_at < now() - ? * interval '1 millisecond' LIMIT " + PRUNE_CHUNK + ")";
        if (b.pruneInterval != null) {
            this.pruner = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "resq-inbox-prune-" + group);
                t.setDaemon(true);
                return t;
            });
            long every = b.pruneInterval.toMillis();
            pruner.scheduleWithFixedDelay(this::pruneQuietly, every, every, TimeUnit.MILLISECONDS);
        } else {
            this.pruner = null;
        }
    }

    /** A builder for an inbox whose records live in {@code dataSource}. */
    public static Builder builder(DataSource dataSource) {
        return new Builder(Objects.requireNonNull(dataSource, "dataSource must not be null"));
    }

    /** The consumer group whose processed ids this inbox records. */
    public String group() {
        return group;
    }

    /**
     * A {@link MsgHandler} for {@code ProcessorBuilder.msgHandler(...)} that runs {@code handler}
     * at most once per message id (per group) to a successful commit, as described above.
     */
    public <T> MsgHandler<T> handler(InboxHandler<T> handler) {
        Objects.requireNonNull(handler, "handler must not be null");
        return msg -> {
            try (Connection c = dataSource.getConnection()) {
                boolean autoCommit = c.getAutoCommit();
                c.setAutoCommit(false);
                try {
                    if (!claim(c, msg.id())) {
                        c.rollback();
                        skipped.incrementAndGet();
                        log.debug("inbox {}: message {} was processed before; acked without calling the handler", group, msg.id());
                        return;
                    }
                    handler.handle(msg, c);
                    c.commit();
                    handled.incrementAndGet();
                } catch (Throwable e) {
                    rollbackQuietly(c, e);
                    throw e;
                } finally {
                    restoreQuietly(c, autoCommit);
                }
            }
        };
    }

    /** Records {@code id} in the connection's transaction; false when it was recorded (and committed) before. */
    private boolean claim(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(claim)) {
            ps.setString(1, group);
            ps.setString(2, id);
            return ps.executeUpdate() == 1;
        }
    }

    /** Messages whose handler ran and committed through this inbox since it was built. */
    public long handled() {
        return handled.get();
    }

    /** Deliveries acked without calling the handler because their id was processed before. */
    public long skipped() {
        return skipped.get();
    }

    /** Deletes records (of every group in the table) older than the retention; returns how many. */
    public int prune() throws SQLException {
        int total = 0;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement(prune)) {
                ps.setLong(1, retention.toMillis());
                int n;
                do {
                    n = ps.executeUpdate();
                    total += n;
                } while (n == PRUNE_CHUNK);
            }
        }
        return total;
    }

    private void pruneQuietly() {
        try {
            int n = prune();
            log.debug("inbox {}: pruned {} records older than {}", group, n, retention);
        } catch (SQLException | RuntimeException e) {
            log.warn("inbox {}: pruning records older than {} failed ({}); trying again at the next interval", group, retention, e.toString());
        }
    }

    /**
     * Creates the inbox table and its index if they do not exist, from {@code schema-postgresql.sql}
     * with this inbox's table name: for tests and quick starts (production schemas belong in migrations).
     */
    public void createSchema() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            Schema.run(c, Schema.inbox(table));
        }
    }

    /** Stops the background pruning. Handlers made by {@link #handler} keep working. Idempotent. */
    @Override
    public void close() {
        if (pruner != null) {
            pruner.shutdownNow();
        }
    }

    private static void rollbackQuietly(Connection c, Throwable cause) {
        try {
            c.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    private static void restoreQuietly(Connection c, boolean autoCommit) {
        try {
            c.setAutoCommit(autoCommit);
        } catch (SQLException e) {
            // The connection is closed next; a pool resets it or drops it.
            log.debug("inbox: could not restore auto-commit ({})", e.toString());
        }
    }

    /** Builds an {@link Inbox}. */
    public static final class Builder {
        private final DataSource dataSource;
        private String table = DEFAULT_TABLE;
        private String group;
        private Duration retention = DEFAULT_RETENTION;
        private Duration pruneInterval = DEFAULT_PRUNE_INTERVAL;

        private Builder(DataSource dataSource) {
            this.dataSource = dataSource;
        }

        /**
         * The consumer group (required): ids are recorded per group, so each group handles every
         * message once. Use the processor's group where the transport has groups.
         */
        public Builder group(String value) {
            this.group = Names.nonBlank(value, "group");
            return this;
        }

        /** The inbox table (default {@value #DEFAULT_TABLE}): a lower-case identifier of at most 40 characters. */
        public Builder table(String value) {
            this.table = Names.table(value, "table");
            return this;
        }

        /** How long a processed id is remembered (default 7 days). */
        public Builder retention(Duration value) {
            Objects.requireNonNull(value, "retention must not be null");
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("retention must be > 0, was " + value);
            }
            this.retention = value;
            return this;
        }

        /** How often records past the retention are deleted in the background (default 1 h); {@code null}: never, call {@link #prune()}. */
        public Builder pruneInterval(Duration value) {
            if (value != null && (value.isNegative() || value.isZero())) {
                throw new IllegalArgumentException("pruneInterval must be > 0, was " + value);
            }
            this.pruneInterval = value;
            return this;
        }

        /** The inbox, pruning in the background unless {@code pruneInterval(null)}. */
        public Inbox build() {
            if (group == null) {
                throw new IllegalStateException("group must be set: the inbox records processed message ids per consumer group");
            }
            return new Inbox(this);
        }
    }
}
