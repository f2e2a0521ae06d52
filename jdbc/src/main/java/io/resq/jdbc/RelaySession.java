package io.resq.jdbc;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import javax.sql.DataSource;

/**
 * The relay's database session: one connection, held for as long as it works, that listens for the
 * outbox's notifications, holds the advisory locks of the partitions this relay owns, reads the
 * unsent rows of those partitions and marks what the broker confirmed.
 *
 * <p><b>Partitions.</b> Each row belongs to partition {@code (key_hash & 0x7fffffff) % partitions}, so
 * every row of one key is in one partition. A relay sends only the partitions whose session-level
 * advisory lock it holds, so a key's rows are sent by one relay at a time, in seq order. Every relay
 * also holds a shared "member" lock; counting its holders in {@code pg_locks} tells each relay how
 * many there are, and each keeps about {@code partitions / members} partitions, releasing the
 * surplus between batches and taking free ones. Session locks die with the session, so the
 * partitions of a relay whose process or connection died are free for the others at once.
 *
 * <p>Not thread-safe: owned by the relay thread. Any {@link SQLException} means the session is to be
 * closed (which releases its locks) and opened anew.
 */
final class RelaySession implements AutoCloseable {

    /** The second key of the member lock: above any partition number. */
    private static final int MEMBER = 1 << 20;
    /** The largest number of partitions. */
    static final int MAX_PARTITIONS = 4096;
    private static final int PRUNE_CHUNK = 1000;

    private final Connection connection;
    private final Notifications notifications;
    private final int partitions;
    private final int lockClass;
    private final BitSet owned = new BitSet();
    private final String fetch;
    private final String mark;
    private final String deadLetter;
    private final String prune;

    private RelaySession(Connection connection, String table, int partitions, boolean keepSent) {
        this.connection = connection;
        this.partitions = partitions;
        this.lockClass = Names.lockClass(table, "relay");
        this.notifications = Notifications.of(connection);
        this.fetch = "SELECT seq, queue, message_id, msg_key, headers, body FROM " + table
                + " WHERE sent_at IS NULL AND (key_hash & 2147483647) % ? = ANY(?) ORDER BY seq LIMIT ?";
        this.mark = keepSent ? "UPDATE " + table + " SET sent_at = now() WHERE seq = ANY(?) AND sent_at IS NULL"
                : "DELETE FROM " + table + " WHERE seq = ANY(?)";
        this.deadLetter = "WITH moved AS (DELETE FROM " + table + " WHERE seq = ? "
                + "RETURNING seq, queue, message_id, msg_key, key_hash, headers, body, created_at) "
                + "INSERT INTO " + Names.deadLetterTable(table) + " (seq, queue, message_id, msg_key, key_hash, headers, body, created_at, reason) "
                + "SELECT seq, queue, message_id, msg_key, key_hash, headers, body, created_at, ? FROM moved";
        this.prune = "DELETE FROM " + table + " WHERE seq IN (SELECT seq FROM " + table
                + " WHERE sent_at IS NOT NULL AND sent_at < now() - ? * interval '1 millisecond' LIMIT " + PRUNE_CHUNK + ")";
    }

    /**
     * Opens a session: a connection in auto-commit mode named {@code applicationName} in
     * {@code pg_stat_activity}, listening on the table's channel, holding the member lock.
     */
    static RelaySession open(DataSource dataSource, String table, int partitions, boolean keepSent, String applicationName)
            throws SQLException {
        Connection c = dataSource.getConnection();
        try {
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('application_name', ?, false)")) {
                ps.setString(1, applicationName);
                ps.execute();
            }
            try (Statement s = c.createStatement()) {
                s.execute("LISTEN " + table);
            }
            RelaySession session = new RelaySession(c, table, partitions, keepSent);
            session.joinMembers();
            return session;
        } catch (SQLException | RuntimeException e) {
            closeQuietly(c, e);
            throw e;
        }
    }

    /** Whether notifications wake this session; false: the relay polls. */
    boolean listens() {
        return notifications != null;
    }

    /** How many partitions this session owns. */
    int owned() {
        return owned.cardinality();
    }

    /**
     * Takes or gives up partitions so that this relay owns its share: {@code ceil(partitions / members)}.
     * Called between batches, so no row of a partition given up is in flight.
     */
    void rebalance() throws SQLException {
        int members = Math.max(1, count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                + "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                + "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 2", MEMBER));
        int share = (partitions + members - 1) / members;
        while (owned.cardinality() > share) {
            int last = owned.previousSetBit(partitions - 1);
            lock("SELECT pg_advisory_unlock(?, ?)", last);
            owned.clear(last);
        }
        if (owned.cardinality() < share) {
            BitSet held = heldByAnyone();
            for (int p = 0; p < partitions && owned.cardinality() < share; p++) {
                if (!held.get(p) && lock("SELECT pg_try_advisory_lock(?, ?)", p)) {
                    owned.set(p);
                }
            }
        }
    }

    /** The partitions whose lock some session holds now (this one's included). */
    private BitSet heldByAnyone() throws SQLException {
        BitSet held = new BitSet();
        try (PreparedStatement ps = connection.prepareStatement("SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
                + "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                + "AND classid::bigint = ? AND objid::bigint < ? AND objsubid = 2")) {
            ps.setLong(1, lockClass);
            ps.setLong(2, partitions);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    held.set((int) rs.getLong(1));
                }
            }
        }
        return held;
    }

    /** Up to {@code limit} unsent rows of the owned partitions, in seq order. */
    List<OutboxRow> fetch(int limit) throws SQLException {
        List<OutboxRow> rows = new ArrayList<>();
        if (owned.isEmpty()) {
            return rows;
        }
        Integer[] mine = owned.stream().boxed().toArray(Integer[]::new);
        Array array = connection.createArrayOf("integer", mine);
        try (PreparedStatement ps = connection.prepareStatement(fetch)) {
            ps.setInt(1, partitions);
            ps.setArray(2, array);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new OutboxRow(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getBytes(6)));
                }
            }
        } finally {
            array.free();
        }
        return rows;
    }

    /** Marks {@code rows} sent: deletes them, or stamps {@code sent_at} when sent rows are kept. */
    void markSent(List<OutboxRow> rows) throws SQLException {
        Long[] seqs = rows.stream().map(OutboxRow::seq).toArray(Long[]::new);
        Array array = connection.createArrayOf("bigint", seqs);
        try (PreparedStatement ps = connection.prepareStatement(mark)) {
            ps.setArray(1, array);
            ps.executeUpdate();
        } finally {
            array.free();
        }
    }

    /** Moves {@code row} to the dead-letter table with {@code reason}, in one statement. */
    void deadLetter(OutboxRow row, String reason) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(deadLetter)) {
            ps.setLong(1, row.seq());
            ps.setString(2, reason);
            ps.executeUpdate();
        }
    }

    /** Deletes rows sent more than {@code retention} ago, a chunk at a time; returns how many. */
    int prune(Duration retention) throws SQLException {
        int total = 0;
        try (PreparedStatement ps = connection.prepareStatement(prune)) {
            ps.setLong(1, retention.toMillis());
            int n;
            do {
                n = ps.executeUpdate();
                total += n;
            } while (n == PRUNE_CHUNK);
        }
        return total;
    }

    /** Waits up to {@code millis} for a notification; true when one arrived. Only when {@link #listens()}. */
    boolean await(long millis) throws SQLException {
        if (notifications == null) {
            throw new IllegalStateException("this session has no notifications: poll instead");
        }
        return notifications.await(millis);
    }

    /** Takes the shared member lock, which every relay of the table holds: never waits. */
    private void joinMembers() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_advisory_lock_shared(?, ?)")) {
            ps.setInt(1, lockClass);
            ps.setInt(2, MEMBER);
            ps.execute();
        }
    }

    /** Runs a lock function that returns a boolean (try-lock, unlock) on partition {@code key}. */
    private boolean lock(String sql, int key) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setInt(1, lockClass);
            ps.setInt(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private int count(String sql, int key) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setLong(1, lockClass);
            ps.setLong(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Closes the connection, which releases every lock it holds. Never throws. */
    @Override
    public void close() {
        owned.clear();
        closeQuietly(connection, null);
    }

    private static void closeQuietly(Connection c, Throwable primary) {
        try {
            c.close();
        } catch (SQLException e) {
            if (primary != null) {
                primary.addSuppressed(e);
            }
        }
    }
}
