package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import io.resq.testkit.Await;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two relays on one outbox table share the work, send each row once and keep each key's order. */
@Timeout(120)
class TwoRelaysTest {

    private static final int WRITERS = 4;
    private static final int KEYS_PER_WRITER = 5;

    private final DataSource ds = Pg.dataSource();
    private final String table = Pg.unique("two");
    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.using(transport);
    private final Outbox outbox = Outbox.builder(queues).table(table).build();
    private final List<OutboxRelay> relays = new ArrayList<>();

    @BeforeEach
    void schema() throws SQLException {
        try (Connection c = ds.getConnection()) {
            outbox.createSchema(c);
        }
    }

    @AfterEach
    void cleanUp() throws SQLException {
        relays.forEach(OutboxRelay::close);
        queues.close();
        Pg.drop(ds, table);
    }

    private OutboxRelay relay(String name) {
        OutboxRelay r = OutboxRelay.builder(ds, transport).table(table).name(name + "-" + table).batchSize(50)
                .rebalanceInterval(Duration.ofMillis(100)).pollInterval(Duration.ofMillis(100))
                .backoff(RetryPolicy.exponential(Duration.ofMillis(10), 2.0).maxDelay(Duration.ofMillis(200)))
                .build().start();
        relays.add(r);
        return r;
    }

    /** Writer threads, each writing its own keys (so each key's numbers are its commit order), while the relays run. */
    private CompletableFuture<Void> writeConcurrently(int perWriter) {
        List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            String prefix = "w" + w + "-key-";
            writers.add(CompletableFuture.runAsync(() -> {
                try {
                    Rows.write(ds, outbox, "events", prefix, KEYS_PER_WRITER, perWriter, 10);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        return CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new));
    }

    private List<Msg<Event>> received() {
        return transport.messages("events", Event.class);
    }

    @Test
    void twoRelaysShareThePartitionsAndSendEachRowOnceInKeyOrder() throws Exception {
        OutboxRelay a = relay("a");
        OutboxRelay b = relay("b");
        assertThat(Await.until(Duration.ofSeconds(10), () -> a.health().owned() == 8 && b.health().owned() == 8))
                .as("16 partitions shared 8 and 8").isTrue();

        writeConcurrently(1000).get(60, TimeUnit.SECONDS);

        assertThat(Await.until(Duration.ofSeconds(60), () -> received().size() >= 4000 && unsent() == 0)).isTrue();
        List<Msg<Event>> received = received();
        System.out.printf("two relays: a sent %d, b sent %d, %d received, %d duplicates%n",
                a.health().sent(), b.health().sent(), received.size(), Rows.duplicates(received));
        assertThat(received).hasSize(4000);
        assertThat(Rows.duplicates(received)).isZero();
        assertThat(Rows.outOfOrder(received)).isEmpty();
        assertThat(a.health().sent()).isPositive();
        assertThat(b.health().sent()).isPositive();
        assertThat(a.health().sent() + b.health().sent()).isEqualTo(4000);
    }

    @Test
    void aRelayThatClosesHandsItsPartitionsOverWithNothingSentTwice() throws Exception {
        OutboxRelay a = relay("a");
        OutboxRelay b = relay("b");
        assertThat(Await.until(Duration.ofSeconds(10), () -> a.health().owned() == 8 && b.health().owned() == 8)).isTrue();

        CompletableFuture<Void> writing = writeConcurrently(500);
        assertThat(Await.until(Duration.ofSeconds(30), () -> a.health().sent() > 100)).isTrue();
        a.close();
        assertThat(Await.until(Duration.ofSeconds(10), () -> b.health().owned() == 16)).as("b takes all partitions").isTrue();
        writing.get(60, TimeUnit.SECONDS);

        assertThat(Await.until(Duration.ofSeconds(60), () -> received().size() >= 2000 && unsent() == 0)).isTrue();
        assertThat(received()).hasSize(2000);
        assertThat(Rows.outOfOrder(received())).isEmpty();
    }

    @Test
    void whenARelaysSessionDiesTheOtherTakesOverAndNothingIsLost() throws Exception {
        OutboxRelay a = relay("a");
        OutboxRelay b = relay("b");
        assertThat(Await.until(Duration.ofSeconds(10), () -> a.health().owned() == 8 && b.health().owned() == 8)).isTrue();

        CompletableFuture<Void> writing = writeConcurrently(500);
        assertThat(Await.until(Duration.ofSeconds(30), () -> a.health().sent() > 100)).isTrue();
        // a's process "dies": its session ends, its partition locks with it; it reconnects later and re-shares.
        Pg.terminate(ds, "a-" + table);
        writing.get(60, TimeUnit.SECONDS);

        assertThat(Await.until(Duration.ofSeconds(60), () -> Rows.distinct(received()) == 2000 && unsent() == 0)).isTrue();
        System.out.printf("session of relay a ended mid-run: %d received, %d duplicates%n",
                received().size(), Rows.duplicates(received()));
        assertThat(Rows.outOfOrder(received())).isEmpty();
    }

    private long unsent() {
        try {
            return Pg.count(ds, "SELECT count(*) FROM " + table);
        } catch (SQLException e) {
            return -1;
        }
    }
}
