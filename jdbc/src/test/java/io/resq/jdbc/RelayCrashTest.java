package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Msg;
import io.resq.RetryPolicy;
import io.resq.testkit.Await;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A relay whose database session is cut between the broker's confirmation and its mark: those
 * rows are sent again (duplicates, counted), and no row is ever lost or overtaken within its key.
 */
@Timeout(180)
class RelayCrashTest extends OutboxFixture {

    RelayCrashTest() {
        super("crash");
    }

    private static final int ROWS = 10_000;

    @Test
    void cuttingTheSessionBetweenSendAndMarkSendsRowsAgainButLosesNone() throws Exception {
        try (Connection c = ds.getConnection()) {
            outbox.createSchema(c);
        }
        Rows.write(ds, outbox, "events", "key-", 50, ROWS, 500);
        String name = "crash-relay-" + table;
        CuttingTransport cutting = new CuttingTransport(transport, 7, () -> {
            try {
                Pg.terminate(ds, name);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        relay = OutboxRelay.builder(ds, cutting).table(table).name(name).batchSize(100)
                .backoff(RetryPolicy.exponential(Duration.ofMillis(10), 2.0).maxDelay(Duration.ofMillis(200)))
                .build().start();

        assertThat(Await.until(Duration.ofSeconds(150), () -> unsent() == 0)).as("every row sent and marked").isTrue();
        List<Msg<Event>> received = transport.messages("events", Event.class);
        int duplicates = Rows.duplicates(received);
        System.out.printf("relay crash test: %d rows, %d session cuts between send and mark, %d received, %d duplicates%n",
                ROWS, cutting.cuts.get(), received.size(), duplicates);

        assertThat(Rows.distinct(received)).as("no row lost").isEqualTo(ROWS);
        assertThat(cutting.cuts.get()).isGreaterThan(0);
        assertThat(duplicates).as("each cut sends its batch again").isGreaterThan(0);
        assertThat(Rows.outOfOrder(received)).as("keys whose first arrivals are out of order").isEmpty();
    }

    private long unsent() {
        try {
            return Pg.count(ds, "SELECT count(*) FROM " + table);
        } catch (SQLException e) {
            return -1;
        }
    }
}
