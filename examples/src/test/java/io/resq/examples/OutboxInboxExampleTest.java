package io.resq.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.testkit.Brokers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The outbox and inbox example charges the order once although its message is delivered twice. */
class OutboxInboxExampleTest {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theOrderIsChargedOnceAndTheRolledBackOrderSendsNothing() throws Exception {
        DataSource db = OutboxInboxExample.dataSource();
        try (Connection c = db.getConnection()) {
            c.isValid(2);
        } catch (SQLException e) {
            Brokers.missing("PostgreSQL is not reachable (" + e.getMessage() + "). Start it on 127.0.0.1:5432 with a "
                    + "database named test, or set RESQ_POSTGRES_URL.");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            OutboxInboxExample.run(out);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(text);

        assertThat(text).contains(
                "charged order 1001: 19.99",
                "orders in the database: 1001 charged",
                "charges in the database: 1001 19.99",
                "deliveries handled: 2, charged 1, skipped as already processed 1, relayed 1",
                "done: queues closed");
        assertThat(text.lines().filter(l -> l.startsWith("  broker delivers order 1001, message ")).count())
                .as("delivered twice").isEqualTo(2);
        assertThat(text).doesNotContain("broker delivers order 1002");
        assertThat(count(db, "SELECT count(*) FROM example_charges")).isEqualTo(1);
        assertThat(count(db, "SELECT count(*) FROM example_outbox")).as("the sent row is gone").isZero();
    }

    private static long count(DataSource db, String sql) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
