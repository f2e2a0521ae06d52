package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Msg;
import io.resq.MsgHandler;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import io.resq.testkit.Await;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The inbox: a message id is handled once per group, whatever the broker redelivers, fails or runs at once. */
@Timeout(60)
class InboxTest {

    private final DataSource ds = Pg.dataSource();
    private final String inboxTable = Pg.unique("inbox");
    private final String charges = Pg.unique("charges");
    private final Inbox inbox = Inbox.builder(ds).table(inboxTable).group("billing").pruneInterval(null).build();
    private final AtomicInteger calls = new AtomicInteger();

    @BeforeEach
    void schema() throws SQLException {
        inbox.createSchema();
        Pg.exec(ds, "CREATE TABLE " + charges + " (message_id TEXT NOT NULL, amount INT NOT NULL)");
    }

    @AfterEach
    void cleanUp() throws SQLException {
        inbox.close();
        Pg.drop(ds, inboxTable, charges);
    }

    /** Charges the event in the inbox's transaction: the write that must happen once. */
    private void charge(Msg<Event> msg, Connection c) throws SQLException {
        calls.incrementAndGet();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + charges + " (message_id, amount) VALUES (?, ?)")) {
            ps.setString(1, msg.id());
            ps.setInt(2, msg.payload().n());
            ps.executeUpdate();
        }
    }

    private long chargeRows() throws SQLException {
        return Pg.count(ds, "SELECT count(*) FROM " + charges);
    }

    @Test
    void aSecondDeliveryOfTheSameIdIsAckedWithoutCallingTheHandler() throws Exception {
        MsgHandler<Event> handler = inbox.handler(this::charge);
        Msg<Event> msg = Msg.of(new Event("k", 5));

        handler.handle(msg);
        handler.handle(msg);

        assertThat(calls.get()).isEqualTo(1);
        assertThat(chargeRows()).isEqualTo(1);
        assertThat(inbox.handled()).isEqualTo(1);
        assertThat(inbox.skipped()).isEqualTo(1);
    }

    @Test
    void aFailedHandlerRollsBackItsWritesAndTheRecordSoTheRetryRuns() throws Exception {
        AtomicInteger attempt = new AtomicInteger();
        MsgHandler<Event> handler = inbox.handler((msg, c) -> {
            charge(msg, c);
            if (attempt.incrementAndGet() == 1) {
                throw new IllegalStateException("payment gateway down");
            }
        });
        Msg<Event> msg = Msg.of(new Event("k", 5));

        assertThatThrownBy(() -> handler.handle(msg)).hasMessage("payment gateway down");
        assertThat(chargeRows()).as("the failed attempt's write rolled back").isZero();
        handler.handle(msg);
        handler.handle(msg);

        assertThat(chargeRows()).isEqualTo(1);
        assertThat(calls.get()).isEqualTo(2);
    }

    @Test
    void groupsAreIndependent() throws Exception {
        try (Inbox shipping = Inbox.builder(ds).table(inboxTable).group("shipping").pruneInterval(null).build()) {
            Msg<Event> msg = Msg.of(new Event("k", 1));
            inbox.handler(this::charge).handle(msg);
            shipping.<Event>handler(this::charge).handle(msg);
            assertThat(calls.get()).isEqualTo(2);
        }
    }

    @Test
    void twoDeliveriesOfOneIdAtOnceRunTheHandlerOnce() throws Exception {
        CountDownLatch firstInside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        MsgHandler<Event> handler = inbox.handler((msg, c) -> {
            charge(msg, c);
            firstInside.countDown();
            release.await(10, TimeUnit.SECONDS);
        });
        Msg<Event> msg = Msg.of(new Event("k", 5));

        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> run(handler, msg));
        assertThat(firstInside.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> run(handler, msg));
        Thread.sleep(300);
        assertThat(second).as("the duplicate waits on the first's record").isNotDone();
        release.countDown();
        first.get(10, TimeUnit.SECONDS);
        second.get(10, TimeUnit.SECONDS);

        assertThat(calls.get()).isEqualTo(1);
        assertThat(chargeRows()).isEqualTo(1);
        assertThat(inbox.skipped()).isEqualTo(1);
    }

    @Test
    void whenTheFirstOfTwoConcurrentDeliveriesFailsTheSecondRunsTheHandler() throws Exception {
        CountDownLatch firstInside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger attempt = new AtomicInteger();
        MsgHandler<Event> handler = inbox.handler((msg, c) -> {
            charge(msg, c);
            if (attempt.incrementAndGet() == 1) {
                firstInside.countDown();
                release.await(10, TimeUnit.SECONDS);
                throw new IllegalStateException("first attempt fails after writing");
            }
        });
        Msg<Event> msg = Msg.of(new Event("k", 5));

        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> run(handler, msg));
        assertThat(firstInside.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> run(handler, msg));
        Thread.sleep(300);
        release.countDown();
        assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("first attempt fails after writing");
        second.get(10, TimeUnit.SECONDS);

        assertThat(calls.get()).isEqualTo(2);
        assertThat(chargeRows()).isEqualTo(1);
    }

    @Test
    void aProcessorWithRetryRedeliveryAndConcurrencyChargesEachMessageOnce() throws Exception {
        InMemoryTransport transport = InMemoryTransport.create();
        try (Queues queues = Queues.using(transport)) {
            AtomicInteger failuresLeft = new AtomicInteger(6);
            Processor<Event> p = queues.processor("events", Event.class)
                    .concurrency(4)
                    .retry(RetryPolicy.fixed(Duration.ofMillis(5)).maxAttempts(2))
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(20)).maxAttempts(5))
                    .msgHandler(inbox.handler((msg, c) -> {
                        charge(msg, c);
                        if (failuresLeft.getAndDecrement() > 0) {
                            throw new IllegalStateException("transient failure after the write");
                        }
                    }))
                    .start();
            var out = queues.enqueue("events", Event.class);
            for (int i = 1; i <= 20; i++) {
                Msg<Event> msg = Msg.builder(new Event("k" + i, i)).key("k" + i).build();
                out.send(msg);
                // The broker delivers every message twice, the copy under another key so both can run at once.
                out.send(msg.toBuilder().key("copy-" + i).build());
            }

            assertThat(Await.until(Duration.ofSeconds(30), () -> p.health().succeeded() == 40)).isTrue();
            assertThat(chargeRows()).isEqualTo(20);
            assertThat(Pg.count(ds, "SELECT count(DISTINCT message_id) FROM " + charges)).isEqualTo(20);
            assertThat(inbox.skipped()).isEqualTo(20);
            assertThat(transport.messages("events_deadletter", Event.class)).isEmpty();
        }
    }

    @Test
    void pruneDeletesRecordsOlderThanTheRetention() throws Exception {
        try (Inbox shortLived = Inbox.builder(ds).table(inboxTable).group("billing").retention(Duration.ofMillis(200))
                .pruneInterval(null).build()) {
            Msg<Event> msg = Msg.of(new Event("k", 1));
            shortLived.handler(this::charge).handle(msg);
            assertThat(shortLived.prune()).isZero();
            Thread.sleep(400);
            assertThat(shortLived.prune()).isEqualTo(1);
            shortLived.handler(this::charge).handle(msg);
            assertThat(calls.get()).as("forgotten after the retention: handled again").isEqualTo(2);
        }
    }

    @Test
    void theBuilderNeedsAGroup() {
        assertThatThrownBy(() -> Inbox.builder(ds).build()).isInstanceOf(IllegalStateException.class).hasMessageContaining("group");
        assertThatThrownBy(() -> Inbox.builder(ds).retention(Duration.ZERO)).hasMessage("retention must be > 0, was PT0S");
    }

    private static void run(MsgHandler<Event> handler, Msg<Event> msg) {
        try {
            handler.handle(msg);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
