package io.resq.jdbc;

import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.spi.Health;
import io.resq.spi.Transport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves committed outbox rows to a broker: reads them in seq order, sends them through the
 * transport's {@link io.resq.spi.Sender}, and deletes (or marks) each row only after the broker
 * confirmed it. At least once: a relay that dies between the broker's confirmation and the mark
 * sends those rows again when it (or another relay) takes over; a committed row is never lost.
 *
 * <pre>{@code
 * OutboxRelay relay = OutboxRelay.builder(dataSource, queues).build().start();
 * ...
 * relay.close();
 * }</pre>
 *
 * <p><b>Order and several relays.</b> Rows are spread over {@link Builder#partitions(int) partitions}
 * by key; a relay sends only the partitions whose advisory lock it holds, so every row of one key is
 * sent by one relay at a time, in the order the rows were committed (see {@link Outbox} for why seq
 * order is commit order per key). Relays on one table share the partitions between them and take
 * over those of a relay that stopped. In normal operation no row is sent twice.
 *
 * <p><b>Latency and load.</b> The relay listens for the notification {@link Outbox} sends at commit
 * and otherwise looks every {@link Builder#pollInterval(Duration) pollInterval}; under load it sends
 * full batches back to back. When the broker refuses, it backs off per {@link Builder#backoff(RetryPolicy)}
 * and reports DOWN in {@link #health()} until a batch goes through.
 *
 * <p><b>Threads.</b> One thread per relay ({@code resq-relay-<table>}) owns the database session,
 * the senders and every decision; {@link #health()} and {@link #close()} may be called from any thread.
 * The relay needs a session of its own (session-level advisory locks and {@code LISTEN}): point it at
 * the database directly or through a session-mode pool, not a transaction-mode pooler.
 */
public final class OutboxRelay implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);

    /** Rows per batch by default. */
    public static final int DEFAULT_BATCH_SIZE = 100;
    /** Partitions by default: the most relays that can share one outbox table. */
    public static final int DEFAULT_PARTITIONS = 16;
    /** How long the relay waits for a notification before it looks anyway: 500 ms. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);
    /** How often relays re-share the partitions: 2 s. */
    public static final Duration DEFAULT_REBALANCE_INTERVAL = Duration.ofSeconds(2);
    /** How long sent rows are kept: zero, deleted once confirmed. */
    public static final Duration DEFAULT_RETENTION = Duration.ZERO;
    /** Back-off while the broker refuses or the database is unreachable: 100 ms doubling to 10 s, with jitter. */
    public static final RetryPolicy DEFAULT_BACKOFF = RetryPolicy.exponential(Duration.ofMillis(100), 2.0)
            .maxDelay(Duration.ofSeconds(10)).jitter(0.2);
    /** How long one send waits for the broker's confirmation: 30 s. */
    public static final Duration DEFAULT_SEND_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    private final DataSource dataSource;
    private final Transport transport;
    private final String table;
    private final String name;
    private final int batchSize;
    private final int partitions;
    private final Duration pollInterval;
    private final Duration rebalanceInterval;
    private final Duration retention;
    private final Duration pruneInterval;
    private final RetryPolicy backoff;
    private final BatchSender batches;
    private final Thread thread;
    /** Counted down by close(): ends back-off waits and polling waits at once. */
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final AtomicLong refused = new AtomicLong();
    private final Object lifecycle = new Object();
    private boolean started;
    private volatile boolean closed;
    private volatile Health status = Health.down("not started");
    private volatile int owned;

    private OutboxRelay(Builder b) {
        this.dataSource = b.dataSource;
        this.transport = b.transport;
        this.table = b.table;
        this.name = b.name != null ? b.name : "resq-relay-" + b.table;
        this.batchSize = b.batchSize;
        this.partitions = b.partitions;
        this.pollInterval = b.pollInterval;
        this.rebalanceInterval = b.rebalanceInterval;
        this.retention = b.retention;
        this.pruneInterval = b.pruneInterval;
        this.backoff = b.backoff;
        this.batches = new BatchSender(b.transport, b.sendTimeout);
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
    }

    /** A builder for a relay from the outbox in {@code dataSource} to {@code transport}. */
    public static Builder builder(DataSource dataSource, Transport transport) {
        return new Builder(Objects.requireNonNull(dataSource, "dataSource must not be null"),
                Objects.requireNonNull(transport, "transport must not be null"));
    }

    /** A builder for a relay from the outbox in {@code dataSource} to the transport of {@code queues}. */
    public static Builder builder(DataSource dataSource, Queues queues) {
        return builder(dataSource, Objects.requireNonNull(queues, "queues must not be null").transport());
    }

    /**
     * Starts the relay thread. Returns at once: the relay connects, takes its partitions and sends in
     * the background; {@link #health()} says how it goes.
     *
     * @return this relay
     * @throws IllegalStateException when started before, or closed
     */
    public OutboxRelay start() {
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("relay " + name + " is closed; build a new one");
            }
            if (started) {
                throw new IllegalStateException("relay " + name + " is already started");
            }
            started = true;
            status = Health.up("starting");
            thread.start();
        }
        return this;
    }

    /** The relay's state now; never throws. */
    public RelayHealth health() {
        boolean running = started && !closed;
        Health h = closed ? Health.down("relay closed") : status;
        return new RelayHealth(h, running, partitions, running ? owned : 0, batches.sent.get(), batches.deadLettered.get(), refused.get());
    }

    /**
     * Stops the relay: the batch in flight finishes (its rows are marked once confirmed), then the
     * session closes, releasing the relay's partitions to other relays. Waits up to 10 s. Idempotent.
     * Does not close the transport or the data source: they are the application's.
     */
    @Override
    public void close() {
        boolean running;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            running = started;
        }
        stopping.countDown();
        if (!running) {
            return;
        }
        wake();
        try {
            thread.join(CLOSE_TIMEOUT.toMillis());
            if (thread.isAlive()) {
                log.warn("relay {} did not stop within {} ms; interrupting it", name, CLOSE_TIMEOUT.toMillis());
                thread.interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Ends the relay thread's wait for a notification now rather than at the next poll. Best effort. */
    private void wake() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, '')")) {
            ps.setString(1, table);
            ps.execute();
            if (!c.getAutoCommit()) {
                c.commit();
            }
        } catch (SQLException | RuntimeException e) {
            log.debug("relay {}: could not wake its thread ({}); it stops within {} ms", name, e.toString(), pollInterval.toMillis());
        }
    }

    // ------------------------------------------------------------------ the relay thread

    private void run() {
        RelaySession session = null;
        int failures = 0;
        long nextRebalance = 0;
        long nextPrune = System.nanoTime();
        try {
            while (!closed) {
                try {
                    if (session == null) {
                        session = RelaySession.open(dataSource, table, partitions, !retention.isZero(), name);
                        nextRebalance = System.nanoTime();
                        if (!session.listens()) {
                            log.info("relay {}: the connection gives no PostgreSQL notifications; polling every {} ms",
                                    name, pollInterval.toMillis());
                        }
                    }
                    if (System.nanoTime() - nextRebalance >= 0) {
                        session.rebalance();
                        owned = session.owned();
                        nextRebalance = System.nanoTime() + rebalanceInterval.toNanos();
                    }
                    if (!retention.isZero() && System.nanoTime() - nextPrune >= 0) {
                        int pruned = session.prune(retention);
                        log.debug("relay {}: pruned {} sent rows older than {}", name, pruned, retention);
                        nextPrune = System.nanoTime() + pruneInterval.toNanos();
                    }
                    List<OutboxRow> rows = session.fetch(batchSize);
                    if (!rows.isEmpty()) {
                        batches.send(session, rows);
                    }
                    if (failures > 0) {
                        log.info("relay {}: sending again after {} failed attempt(s)", name, failures);
                        failures = 0;
                    }
                    status = Health.up("relaying " + owned + " of " + partitions + " partitions");
                    if (rows.size() < batchSize) {
                        idle(session, Math.min(pollInterval.toNanos(), Math.max(0, nextRebalance - System.nanoTime())));
                    }
                } catch (BrokerRefusedException e) {
                    failures++;
                    refused.incrementAndGet();
                    Duration delay = backoff.delayAfter(failures);
                    status = Health.down(e.getMessage() + "; trying again in " + delay.toMillis() + " ms");
                    log.warn("relay {}: {}; trying again in {} ms (attempt {})", name, e.getMessage(), delay.toMillis(), failures);
                    pause(delay);
                } catch (SQLException | RuntimeException e) {
                    failures++;
                    Duration delay = backoff.delayAfter(failures);
                    status = Health.down("database: " + describe(e) + "; trying again in " + delay.toMillis() + " ms");
                    if (!closed) {
                        log.warn("relay {}: database session lost ({}); reconnecting in {} ms (attempt {})", name, describe(e),
                                delay.toMillis(), failures);
                    }
                    // Closing the session releases its partitions: another relay may take them meanwhile.
                    if (session != null) {
                        session.close();
                        session = null;
                        owned = 0;
                    }
                    pause(delay);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (session != null) {
                session.close();
            }
            owned = 0;
        }
    }

    /** Waits for a notification or up to {@code nanos}; without notifications, sleeps until then or close. */
    private void idle(RelaySession session, long nanos) throws SQLException, InterruptedException {
        long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos));
        if (session.listens()) {
            session.await(millis);
        } else {
            stopping.await(millis, TimeUnit.MILLISECONDS);
        }
    }

    private void pause(Duration delay) throws InterruptedException {
        stopping.await(delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The exception's class and message; a driver's message names the host and the cause, never a password. */
    private static String describe(Exception e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /** Builds an {@link OutboxRelay}; every option has a documented default. */
    public static final class Builder {
        private final DataSource dataSource;
        private final Transport transport;
        private String table = Outbox.DEFAULT_TABLE;
        private String name;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private int partitions = DEFAULT_PARTITIONS;
        private Duration pollInterval = DEFAULT_POLL_INTERVAL;
        private Duration rebalanceInterval = DEFAULT_REBALANCE_INTERVAL;
        private Duration retention = DEFAULT_RETENTION;
        private Duration pruneInterval = Duration.ofMinutes(1);
        private RetryPolicy backoff = DEFAULT_BACKOFF;
        private Duration sendTimeout = DEFAULT_SEND_TIMEOUT;

        private Builder(DataSource dataSource, Transport transport) {
            this.dataSource = dataSource;
            this.transport = transport;
        }

        /** The outbox table (default {@value Outbox#DEFAULT_TABLE}), as given to {@link Outbox.Builder#table(String)}. */
        public Builder table(String value) {
            this.table = Names.table(value, "table");
            return this;
        }

        /**
         * The relay's name: its thread's, and its session's {@code application_name} in
         * {@code pg_stat_activity}. Default {@code resq-relay-<table>}.
         */
        public Builder name(String value) {
            this.name = Names.nonBlank(value, "name");
            return this;
        }

        /** The most rows sent in one batch (default {@value #DEFAULT_BATCH_SIZE}). */
        public Builder batchSize(int value) {
            this.batchSize = atLeast(value, 1, "batchSize");
            return this;
        }

        /**
         * How many partitions the keys are spread over (default {@value #DEFAULT_PARTITIONS}): the most
         * relays that can send at once. Every relay of one table must use the same number; change it
         * only with every relay stopped, or rows of one key may be sent by two relays at once.
         */
        public Builder partitions(int value) {
            atLeast(value, 1, "partitions");
            if (value > RelaySession.MAX_PARTITIONS) {
                throw new IllegalArgumentException("partitions must be <= " + RelaySession.MAX_PARTITIONS + ", was " + value);
            }
            this.partitions = value;
            return this;
        }

        /**
         * How long the relay waits for a commit notification before it looks at the table anyway
         * (default 500 ms); when the connection gives no notifications, how often it polls.
         */
        public Builder pollInterval(Duration value) {
            this.pollInterval = positive(value, "pollInterval");
            return this;
        }

        /** How often relays re-share partitions, taking over those of a stopped relay (default 2 s). */
        public Builder rebalanceInterval(Duration value) {
            this.rebalanceInterval = positive(value, "rebalanceInterval");
            return this;
        }

        /**
         * How long sent rows stay in the outbox, marked with {@code sent_at}, before the relay deletes
         * them (checked every {@code pruneInterval}). Zero (the default) deletes a row as soon as the
         * broker confirmed it.
         */
        public Builder retention(Duration value) {
            Objects.requireNonNull(value, "retention must not be null");
            if (value.isNegative()) {
                throw new IllegalArgumentException("retention must be >= 0, was " + value);
            }
            this.retention = value;
            return this;
        }

        /** How often sent rows past their retention are deleted (default 1 min); unused with zero retention. */
        public Builder pruneInterval(Duration value) {
            this.pruneInterval = positive(value, "pruneInterval");
            return this;
        }

        /**
         * The waits while the broker refuses or the database is unreachable (default
         * {@link #DEFAULT_BACKOFF}); its {@code maxAttempts} is ignored: the relay never gives up.
         */
        public Builder backoff(RetryPolicy value) {
            this.backoff = Objects.requireNonNull(value, "backoff must not be null");
            return this;
        }

        /** How long one send waits for the broker's confirmation before it counts as refused (default 30 s). */
        public Builder sendTimeout(Duration value) {
            this.sendTimeout = positive(value, "sendTimeout");
            return this;
        }

        /** The relay, not yet started. */
        public OutboxRelay build() {
            return new OutboxRelay(this);
        }

        private static int atLeast(int value, int min, String what) {
            if (value < min) {
                throw new IllegalArgumentException(what + " must be >= " + min + ", was " + value);
            }
            return value;
        }

        private static Duration positive(Duration value, String what) {
            Objects.requireNonNull(value, what + " must not be null");
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(what + " must be > 0, was " + value);
            }
            return value;
        }
    }
}
