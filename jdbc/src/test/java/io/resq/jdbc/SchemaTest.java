package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Queues;
import io.resq.memory.InMemoryTransport;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The schema script: split into statements, renamed for other table names, and safe to run twice. */
class SchemaTest {

    @Test
    void theScriptRenamesEveryTableAndIndexOfTheOutboxAndInbox() {
        List<String> outbox = Schema.outbox("orders_outbox");
        List<String> inbox = Schema.inbox("orders_inbox");

        assertThat(outbox).hasSize(4).noneMatch(s -> s.contains("resq_")).noneMatch(s -> s.contains("--"));
        assertThat(String.join("\n", outbox)).contains("CREATE TABLE IF NOT EXISTS orders_outbox (",
                "orders_outbox_unsent ON orders_outbox", "CREATE TABLE IF NOT EXISTS orders_outbox_deadletter (");
        assertThat(inbox).hasSize(2).noneMatch(s -> s.contains("resq_"));
        assertThat(String.join("\n", inbox)).contains("orders_inbox_processed_at ON orders_inbox");
    }

    @Test
    void createSchemaMakesTheTablesAndCanRunAgain() throws SQLException {
        DataSource ds = Pg.dataSource();
        String outboxTable = Pg.unique("schema_outbox");
        String inboxTable = Pg.unique("schema_inbox");
        try (Queues queues = Queues.using(InMemoryTransport.create());
             Inbox inbox = Inbox.builder(ds).table(inboxTable).group("g").pruneInterval(null).build();
             Connection c = ds.getConnection()) {
            Outbox outbox = Outbox.builder(queues).table(outboxTable).build();
            outbox.createSchema(c);
            outbox.createSchema(c);
            inbox.createSchema();
            inbox.createSchema();
            assertThat(Pg.count(ds, "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('"
                    + outboxTable + "', '" + outboxTable + "_deadletter', '" + inboxTable + "')")).isEqualTo(3);
        } finally {
            Pg.drop(ds, outboxTable, inboxTable);
        }
    }
}
