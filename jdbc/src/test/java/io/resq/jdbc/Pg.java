package io.resq.jdbc;

import io.resq.testkit.Brokers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The PostgreSQL of the tests: {@code RESQ_POSTGRES_URL}, or the local server's {@code test}
 * database. Every test makes tables with names of its own, so test classes never share rows.
 */
final class Pg {

    static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

    private Pg() {
    }

    /** A data source for the test database; skips (fails under CI) when the server does not answer. */
    static DataSource dataSource() {
        String url = System.getenv("RESQ_POSTGRES_URL");
        if (url == null || url.isBlank()) {
            url = DEFAULT_URL;
        }
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(url);
        try (Connection c = ds.getConnection()) {
            c.isValid(2);
        } catch (SQLException e) {
            Brokers.missing("PostgreSQL is not reachable (" + e.getMessage() + "). Start it on 127.0.0.1:5432 with a "
                    + "database named test, or set RESQ_POSTGRES_URL to a JDBC URL of one that runs.");
        }
        return ds;
    }

    /** A table name no other test uses: {@code prefix_} and 8 random characters. */
    static String unique(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 8).toLowerCase(Locale.ROOT);
    }

    /** Drops the outbox {@code table} with its dead-letter table, or an inbox table. */
    static void drop(DataSource ds, String... tables) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            for (String t : tables) {
                s.execute("DROP TABLE IF EXISTS " + t + ", " + t + "_deadletter");
            }
        }
    }

    /** The single number {@code sql} returns. */
    static long count(DataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Runs {@code sql} in auto-commit mode. */
    static void exec(DataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Ends the server sessions named {@code applicationName}, as a crash or a network cut would; returns how many. */
    static int terminate(DataSource ds, String applicationName) throws SQLException {
        try (Connection c = ds.getConnection();
             var ps = c.prepareStatement("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?")) {
            ps.setString(1, applicationName);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
