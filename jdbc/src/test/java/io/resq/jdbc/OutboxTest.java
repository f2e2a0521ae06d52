package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Msg;
import io.resq.Queues;
import io.resq.TypeRef;
import io.resq.memory.InMemoryTransport;
import io.resq.testkit.Await;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The outbox with one relay on the in-memory transport: what is sent, when, and what is not. */
@Timeout(60)
class OutboxTest extends OutboxFixture {

    OutboxTest() {
        super("outbox");
    }

    @BeforeEach
    void schema() throws SQLException {
        try (Connection c = ds.getConnection()) {
            outbox.createSchema(c);
        }
    }

    private OutboxRelay startRelay(OutboxRelay.Builder builder) {
        relay = builder.table(table).pollInterval(Duration.ofMillis(100)).build().start();
        return relay;
    }

    private void write(boolean commit, Msg<Event> msg) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            outbox.send(c, "events", msg);
            if (commit) {
                c.commit();
            } else {
                c.rollback();
            }
        }
    }

    private List<Msg<Event>> sent() {
        return transport.messages("events", Event.class);
    }

    @Test
    void aDelayedMessageIsRefusedRatherThanSentWithoutItsDelay() throws Exception {
        try (Connection c = ds.getConnection()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> outbox.send(c, "events",
                            Msg.builder(new Event("e", 1)).deliverAfter(Duration.ofMinutes(5)).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("delayed delivery");
        }
    }

    @Test
    void aRolledBackTransactionSendsNothing() throws Exception {
        startRelay(OutboxRelay.builder(ds, transport));

        write(false, Msg.of(new Event("k", 1)));
        write(true, Msg.of(new Event("k", 2)));

        assertThat(Await.until(Duration.ofSeconds(10), () -> sent().size() == 1)).as("the committed message arrives").isTrue();
        // The relay has looked at the table since the commit (the row is gone): the rolled-back one never existed.
        assertThat(Await.until(Duration.ofSeconds(10), () -> rows() == 0)).isTrue();
        Thread.sleep(300);
        assertThat(sent()).extracting(m -> m.payload().n()).containsExactly(2);
        assertThat(relay.health().sent()).isEqualTo(1);
    }

    @Test
    void theMessageSentIsExactlyWhatAnEnqueueWouldSend() throws Exception {
        Msg<Event> msg = Msg.builder(new Event("customer-7", 1)).key("customer-7").category("OrderPlaced")
                .attribute("trace", "t-1").header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").build();
        byte[] expected = queues.encode("events", TypeRef.of(Event.class), msg).body();
        write(true, msg);
        startRelay(OutboxRelay.builder(ds, queues));

        assertThat(Await.until(Duration.ofSeconds(10), () -> sent().size() == 1)).isTrue();
        Msg<Event> got = sent().get(0);
        assertThat(got.id()).isEqualTo(msg.id());
        assertThat(got.key()).isEqualTo("customer-7");
        assertThat(got.category()).isEqualTo("OrderPlaced");
        assertThat(got.attributes()).isEqualTo(Map.of("trace", "t-1"));
        assertThat(got.headers()).containsEntry("traceparent", msg.headers().get("traceparent"));
        assertThat(got.payload()).isEqualTo(new Event("customer-7", 1));
        assertThat(transport.bodies("events")).singleElement().isEqualTo(expected);
    }

    @Test
    void aCommitWakesTheRelayLongBeforeItsPollInterval() throws Exception {
        relay = OutboxRelay.builder(ds, transport).table(table).pollInterval(Duration.ofMinutes(5))
                .rebalanceInterval(Duration.ofMinutes(5)).build().start();
        assertThat(Await.until(Duration.ofSeconds(10), () -> relay.health().owned() == OutboxRelay.DEFAULT_PARTITIONS)).isTrue();
        Thread.sleep(200); // the relay is waiting for a notification now

        write(true, Msg.of(new Event("k", 1)));

        // Without the notification the relay would look again in 5 minutes, past this test's timeout.
        assertThat(Await.until(Duration.ofSeconds(20), () -> sent().size() == 1)).isTrue();
    }

    @Test
    void aSecondWriterOfTheSameKeyWaitsForTheFirstToCommit() throws Exception {
        startRelay(OutboxRelay.builder(ds, transport));
        CountDownLatch firstWrote = new CountDownLatch(1);
        CountDownLatch secondWrote = new CountDownLatch(1);
        try (Connection first = ds.getConnection()) {
            first.setAutoCommit(false);
            outbox.send(first, "events", Msg.builder(new Event("k", 1)).key("k").build());
            firstWrote.countDown();
            CompletableFuture<Void> second = CompletableFuture.runAsync(() -> {
                try (Connection c = ds.getConnection()) {
                    c.setAutoCommit(false);
                    outbox.send(c, "events", Msg.builder(new Event("k", 2)).key("k").build());
                    secondWrote.countDown();
                    c.commit();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            // The second transaction cannot write its row (and so cannot commit before the first) while the first is open.
            assertThat(secondWrote.await(500, TimeUnit.MILLISECONDS)).as("second writer blocked").isFalse();
            first.commit();
            second.get(10, TimeUnit.SECONDS);
        }
        assertThat(Await.until(Duration.ofSeconds(10), () -> sent().size() == 2)).isTrue();
        assertThat(sent()).extracting(m -> m.payload().n()).containsExactly(1, 2);
    }

    @Test
    void writersOfDifferentKeysDoNotWaitForEachOther() throws Exception {
        try (Connection first = ds.getConnection(); Connection second = ds.getConnection()) {
            first.setAutoCommit(false);
            second.setAutoCommit(false);
            outbox.send(first, "events", Msg.builder(new Event("a", 1)).key("a").build());
            // Would block this thread for good if keys shared one lock: the test's timeout catches it.
            outbox.send(second, "events", Msg.builder(new Event("b", 1)).key("b").build());
            second.commit();
            first.commit();
        }
        assertThat(rows()).isEqualTo(2);
    }

    @Test
    void aRowTheTransportCanNeverTakeGoesToTheDeadLetterTableAndTheRestFollows() throws Exception {
        InMemoryTransport small = InMemoryTransport.create(Clock.systemUTC(), 600);
        write(true, Msg.of(new Event("k", 1)));
        write(true, Msg.of(new Event("k".repeat(1000), 2)));
        write(true, Msg.of(new Event("k", 3)));
        startRelay(OutboxRelay.builder(ds, small));

        assertThat(Await.until(Duration.ofSeconds(10), () -> small.messages("events", Event.class).size() == 2)).isTrue();
        assertThat(small.messages("events", Event.class)).extracting(m -> m.payload().n()).containsExactly(1, 3);
        assertThat(Await.until(Duration.ofSeconds(10), () -> rows() == 0)).isTrue();
        assertThat(Pg.count(ds, "SELECT count(*) FROM " + table + "_deadletter WHERE reason LIKE '%over the transport''s limit of 600 bytes%'"))
                .isEqualTo(1);
        assertThat(relay.health().deadLettered()).isEqualTo(1);
        assertThat(relay.health().isUp()).isTrue();
        small.close();
    }

    @Test
    void sentRowsAreKeptForTheRetentionThenPruned() throws Exception {
        startRelay(OutboxRelay.builder(ds, transport).retention(Duration.ofSeconds(2)).pruneInterval(Duration.ofMillis(200)));
        write(true, Msg.of(new Event("k", 1)));

        assertThat(Await.until(Duration.ofSeconds(10), () -> sent().size() == 1)).isTrue();
        assertThat(Await.until(Duration.ofSeconds(5), () -> count("sent_at IS NOT NULL") == 1)).as("kept, marked sent").isTrue();
        assertThat(Await.until(Duration.ofSeconds(15), () -> rows() == 0)).as("pruned after the retention").isTrue();
        assertThat(sent()).hasSize(1);
    }

    @Test
    void tableNamesAreIdentifiersOnly() {
        assertThatThrownBy(() -> Outbox.builder(queues).table("orders; DROP TABLE x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lower-case SQL identifier");
        assertThatThrownBy(() -> OutboxRelay.builder(ds, transport).table("Orders"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OutboxRelay.builder(ds, transport).batchSize(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("batchSize must be >= 1, was 0");
    }

    @Test
    void aMessageOverTheSendLimitIsRefusedInTheWritersTransaction() throws Exception {
        Queues strict = Queues.builder(transport).maxBodySize(1000).build();
        Outbox small = Outbox.builder(strict).table(table).build();
        try (Connection c = ds.getConnection()) {
            assertThatThrownBy(() -> small.send(c, "events", new Event("x".repeat(2000), 1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("send limit");
        }
        assertThat(rows()).isZero();
    }

    private long rows() {
        return count("true");
    }

    private long count(String where) {
        try {
            return Pg.count(ds, "SELECT count(*) FROM " + table + " WHERE " + where);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
