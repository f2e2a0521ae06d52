package io.resq.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.redis.RedisTransport;
import io.resq.testkit.Await;
import io.resq.testkit.Brokers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Outbox, relay and inbox over a real broker (Redis Streams): every committed row handled once, in key order. */
@Timeout(120)
class RedisRelayTest {

    private final DataSource ds = Pg.dataSource();
    private final String outboxTable = Pg.unique("redis_outbox");
    private final String inboxTable = Pg.unique("redis_inbox");
    private final String handledTable = Pg.unique("redis_handled");
    private final String queue = "jdbc_relay_" + UUID.randomUUID().toString().substring(0, 8);

    @AfterEach
    void cleanUp() throws SQLException {
        Pg.drop(ds, outboxTable, inboxTable, handledTable);
    }

    @Test
    void rowsGoThroughRedisAndAreHandledOnceInKeyOrder() throws Exception {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        Map<String, Integer> lastPerKey = new ConcurrentHashMap<>();
        Map<String, String> outOfOrder = new ConcurrentHashMap<>();
        try (Queues queues = Queues.using(RedisTransport.builder(Brokers.redisUri()).newGroupsFromStart(true).build());
             Inbox inbox = Inbox.builder(ds).table(inboxTable).group("billing").build()) {
            Outbox outbox = Outbox.builder(queues).table(outboxTable).build();
            try (Connection c = ds.getConnection()) {
                outbox.createSchema(c);
            }
            inbox.createSchema();
            Pg.exec(ds, "CREATE TABLE " + handledTable + " (message_id TEXT PRIMARY KEY)");
            Processor<Event> p = queues.processor(queue, Event.class).group("billing").concurrency(4)
                    .msgHandler(inbox.handler((msg, c) -> {
                        Event e = msg.payload();
                        Integer before = lastPerKey.put(e.key(), e.n());
                        if (before != null && before >= e.n()) {
                            outOfOrder.put(e.key(), before + " then " + e.n());
                        }
                        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + handledTable + " VALUES (?)")) {
                            ps.setString(1, msg.id());
                            ps.executeUpdate();
                        }
                    }))
                    .start();
            try (OutboxRelay relay = OutboxRelay.builder(ds, queues).table(outboxTable).build().start()) {
                Rows.write(ds, outbox, queue, "key-", 10, 1000, 25);

                assertThat(Await.until(Duration.ofSeconds(60), () -> handled() == 1000)).isTrue();
                assertThat(relay.health().isUp()).isTrue();
            }
            // The broker delivers one of them again, as after a lost ack: acked, not handled.
            queues.enqueue(queue, Event.class).send(Msg.builder(new Event("again", 1)).id(firstHandledId()).build());
            assertThat(Await.until(Duration.ofSeconds(20), () -> inbox.skipped() == 1)).isTrue();
            assertThat(handled()).isEqualTo(1000);
            assertThat(p.health().deadLettered()).isZero();
        }
        assertThat(outOfOrder).isEmpty();
    }

    private long handled() {
        try {
            return Pg.count(ds, "SELECT count(*) FROM " + handledTable);
        } catch (SQLException e) {
            return -1;
        }
    }

    private String firstHandledId() throws SQLException {
        try (Connection c = ds.getConnection(); var s = c.createStatement();
             var rs = s.executeQuery("SELECT message_id FROM " + handledTable + " LIMIT 1")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
