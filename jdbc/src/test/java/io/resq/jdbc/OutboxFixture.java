package io.resq.jdbc;

import io.resq.Queues;
import io.resq.memory.InMemoryTransport;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;

/**
 * What the outbox tests share: the local PostgreSQL, an outbox table of the test's own, an
 * in-memory transport behind a {@link Queues}, and a relay that is closed after the test with the
 * table dropped.
 */
abstract class OutboxFixture {

    final DataSource ds = Pg.dataSource();
    final String table;
    final InMemoryTransport transport = InMemoryTransport.create();
    final Queues queues = Queues.using(transport);
    final Outbox outbox;
    /** The relay a test started, closed after it. */
    OutboxRelay relay;

    /** A fixture whose table name starts with {@code tablePrefix}. */
    OutboxFixture(String tablePrefix) {
        this.table = Pg.unique(tablePrefix);
        this.outbox = Outbox.builder(queues).table(table).build();
    }

    @AfterEach
    void closeRelayAndDropTable() throws SQLException {
        if (relay != null) {
            relay.close();
        }
        queues.close();
        Pg.drop(ds, table);
    }
}
