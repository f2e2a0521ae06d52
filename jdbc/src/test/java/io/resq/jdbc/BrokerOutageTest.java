package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.RetryPolicy;
import io.resq.testkit.Await;
import java.io.IOException;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** While the broker refuses, the relay backs off and reports DOWN; once it accepts again, the relay catches up in order. */
@Timeout(60)
class BrokerOutageTest extends OutboxFixture {

    BrokerOutageTest() {
        super("outage");
    }

    @Test
    void theRelayBacksOffWhileTheBrokerRefusesAndCatchesUpAfterwards() throws Exception {
        try (Connection c = ds.getConnection()) {
            outbox.createSchema(c);
        }
        transport.failSends("events", new IOException("connection refused by the broker"));
        relay = OutboxRelay.builder(ds, transport).table(table).pollInterval(Duration.ofMillis(100))
                .backoff(RetryPolicy.exponential(Duration.ofMillis(50), 2.0).maxDelay(Duration.ofMillis(400)))
                .build().start();
        Rows.write(ds, outbox, "events", "key-", 5, 300, 50);

        assertThat(Await.until(Duration.ofSeconds(10), () -> !relay.health().isUp())).as("DOWN while refused").isTrue();
        assertThat(relay.health().status().detail()).contains("connection refused by the broker");
        assertThat(Await.until(Duration.ofSeconds(10), () -> relay.health().refused() >= 3)).as("tries again, backing off").isTrue();
        assertThat(Pg.count(ds, "SELECT count(*) FROM " + table)).as("nothing marked while refused").isEqualTo(300);
        assertThat(transport.messages("events", Event.class)).isEmpty();

        transport.healSends("events");

        assertThat(Await.until(Duration.ofSeconds(20), () -> transport.messages("events", Event.class).size() == 300)).isTrue();
        assertThat(Await.until(Duration.ofSeconds(10), () -> relay.health().isUp())).as("UP again").isTrue();
        assertThat(Rows.outOfOrder(transport.messages("events", Event.class))).isEmpty();
        assertThat(Rows.duplicates(transport.messages("events", Event.class))).isZero();
        long refusedSoFar = relay.health().refused();
        Thread.sleep(500);
        assertThat(relay.health().refused()).as("no more refusals once healed").isEqualTo(refusedSoFar);
    }
}
