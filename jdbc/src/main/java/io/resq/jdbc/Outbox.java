package io.resq.jdbc;

import io.resq.Msg;
import io.resq.Queues;
import io.resq.TypeRef;
import io.resq.spi.Outbound;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Objects;

/**
 * Writes messages into an outbox table in the application's own transaction; an {@link OutboxRelay}
 * sends them to the broker once that transaction committed. So a message is sent if and only if
 * the business data written beside it is committed: nothing is sent for a rolled-back transaction,
 * and nothing committed is lost (the relay sends it at least once, even across crashes).
 *
 * <pre>{@code
 * Outbox outbox = Outbox.builder(queues).build();
 * try (Connection c = dataSource.getConnection()) {
 *     c.setAutoCommit(false);
 *     insertOrder(c, order);
 *     outbox.send(c, "orders", Msg.builder(new OrderPlaced(order.id())).key(order.customer()).build());
 *     c.commit();
 * }
 * }</pre>
 *
 * <p>The row holds exactly what {@code queues.enqueue(queue, type).send(msg)} would hand the
 * transport ({@link Queues#encode}): the same id, key, category, attributes, headers and envelope,
 * so consumers cannot tell an outbox message from a direct send.
 *
 * <p><b>Order per key.</b> Sending a message with a key takes a transaction-scoped advisory lock on
 * that key (a hash of it), so two transactions writing the same key commit their rows one after the
 * other, and the row order the relay follows is the commit order. A second writer of a key waits
 * until the first commits or rolls back; keep transactions that write keyed messages short.
 * Messages without a key take no lock.
 *
 * <p>Thread-safe and stateless apart from its configuration: one per application. The connection
 * belongs to the caller, who commits or rolls back; {@code Outbox} never commits, rolls back or
 * closes it. On a connection in auto-commit mode each message is a transaction of its own.
 */
public final class Outbox {

    /** The default outbox table. */
    public static final String DEFAULT_TABLE = "resq_outbox";

    private final Queues queues;
    private final String table;
    private final int writersLockClass;
    private final String insert;

    private Outbox(Builder b) {
        this.queues = b.queues;
        this.table = b.table;
        this.writersLockClass = Names.lockClass(table, "writers");
        // One statement writes the row and queues the notification, which PostgreSQL delivers at
        // commit only (and once per transaction however many rows it wrote).
        this.insert = "WITH row AS (INSERT INTO " + table + " (queue, message_id, msg_key, key_hash, headers, body) "
                + "VALUES (?, ?, ?, ?, ?, ?) RETURNING seq) SELECT pg_notify(?, '') FROM row";
    }

    /** A builder for an outbox that encodes messages as {@code queues} does. */
    public static Builder builder(Queues queues) {
        return new Builder(Objects.requireNonNull(queues, "queues must not be null"));
    }

    /** The outbox table. */
    public String table() {
        return table;
    }

    /**
     * Writes {@code payload} for {@code queue}, as {@code enqueue(queue, payload.getClass()).send(payload)}
     * would send it, in the transaction of {@code connection}.
     *
     * @return the message, with its id
     * @throws SQLException             as the driver throws it; the caller's transaction decides what happens next
     * @throws IllegalArgumentException when the message is over the send limit of the {@code Queues}
     */
    public <T> Msg<T> send(Connection connection, String queue, T payload) throws SQLException {
        Objects.requireNonNull(payload, "payload must not be null");
        return send(connection, queue, Msg.of(payload));
    }

    /**
     * Writes {@code msg} (its id, key, category, attributes and headers kept) for {@code queue} in
     * the transaction of {@code connection}. The payload is written as its runtime class; use
     * {@link #send(Connection, String, TypeRef, Msg)} for a generic or polymorphic payload type.
     *
     * @return the message as it will be sent, addressed to {@code queue}
     * @throws SQLException             as the driver throws it
     * @throws IllegalArgumentException when the message is over the send limit of the {@code Queues}
     */
    public <T> Msg<T> send(Connection connection, String queue, Msg<T> msg) throws SQLException {
        Objects.requireNonNull(msg, "msg must not be null");
        @SuppressWarnings("unchecked") // the payload is a T; its runtime class is the narrowest T
        TypeRef<T> type = TypeRef.of((Class<T>) msg.payload().getClass());
        return send(connection, queue, type, msg);
    }

    /**
     * Writes {@code msg} for {@code queue} with its payload written as {@code type}, as
     * {@code queues.enqueue(queue, type).send(msg)} would, in the transaction of {@code connection}.
     *
     * @return the message as it will be sent, addressed to {@code queue}
     * @throws SQLException             as the driver throws it
     * @throws IllegalArgumentException when the message is over the send limit of the {@code Queues}
     */
    public <T> Msg<T> send(Connection connection, String queue, TypeRef<T> type, Msg<T> msg) throws SQLException {
        Objects.requireNonNull(connection, "connection must not be null");
        Names.nonBlank(queue, "queue");
        Objects.requireNonNull(type, "type must not be null");
        Objects.requireNonNull(msg, "msg must not be null");
        if (msg.deliverAfter() != null || msg.deliverAt() != null) {
            // The relay sends rows as soon as they commit: a schedule would be dropped without a trace.
            throw new IllegalArgumentException("message " + msg.id() + " asks for a delayed delivery, which the outbox does not "
                    + "carry; send it without deliverAfter/deliverAt, or with Enqueue after your transaction commits");
        }
        Msg<T> addressed = queue.equals(msg.queue()) ? msg : msg.toBuilder().queue(queue).build();
        Outbound out = queues.encode(queue, type, addressed);
        int keyHash = Names.keyHash(out.key(), out.id());
        if (out.key() != null) {
            // Held until the caller's transaction ends: the next writer of this key gets a later seq.
            try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(?, ?)")) {
                lock.setInt(1, writersLockClass);
                lock.setInt(2, keyHash);
                lock.execute();
            }
        }
        try (PreparedStatement ps = connection.prepareStatement(insert)) {
            ps.setString(1, queue);
            ps.setString(2, out.id());
            ps.setString(3, out.key());
            ps.setInt(4, keyHash);
            ps.setString(5, HeadersJson.write(out.headers()));
            ps.setBytes(6, out.body());
            ps.setString(7, table);
            ps.execute();
        }
        return addressed;
    }

    /**
     * Creates the outbox table, its dead-letter table and their indexes if they do not exist, from
     * {@code schema-postgresql.sql} with this outbox's table name: for tests and quick starts.
     * Production schemas belong in the application's migrations (the script is written for Flyway
     * and Liquibase). Commits when {@code connection} is not in auto-commit mode.
     */
    public void createSchema(Connection connection) throws SQLException {
        Objects.requireNonNull(connection, "connection must not be null");
        Schema.run(connection, Schema.outbox(table));
    }

    /** Builds an {@link Outbox}. */
    public static final class Builder {
        private final Queues queues;
        private String table = DEFAULT_TABLE;

        private Builder(Queues queues) {
            this.queues = queues;
        }

        /**
         * The outbox table (default {@value #DEFAULT_TABLE}): a lower-case identifier of at most
         * 40 characters, in the connection's current schema. The relay must name the same table.
         */
        public Builder table(String value) {
            this.table = Names.table(value, "table");
            return this;
        }

        /** The outbox. */
        public Outbox build() {
            return new Outbox(this);
        }
    }
}
