package io.resq.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Delayed and scheduled sends on the in-memory transport, driven by a {@link ManualClock}. */
@Timeout(30)
class DelayedSendTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-23T10:00:00Z"));
    private final InMemoryTransport memory = InMemoryTransport.create(clock);
    private final Queues queues = Queues.builder(memory).clock(clock).build();
    private final List<String> handled = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        queues.close();
    }

    private void quiet() throws InterruptedException {
        Thread.sleep(300); // the processor polls every few ms: long enough to see a message that is there
    }

    @Test
    void aMessageSentWithADelayIsHandledOnlyOnceTheDelayHasPassed() throws Exception {
        queues.processor("d", String.class).handler(handled::add).start();
        Enqueue<String> out = queues.enqueue("d", String.class);
        out.send(Msg.builder("in-5-minutes").deliverAfter(Duration.ofMinutes(5)).build());
        out.send(Msg.builder("at-10:01").deliverAt(Instant.parse("2026-11-23T10:01:00Z")).build());
        out.send("now");

        assertThat(Await.until(Duration.ofSeconds(10), () -> handled.contains("now"))).isTrue();
        quiet();
        assertThat(handled).containsExactly("now");

        clock.advance(Duration.ofSeconds(59));
        quiet();
        assertThat(handled).containsExactly("now");
        clock.advance(Duration.ofSeconds(1));
        assertThat(Await.until(Duration.ofSeconds(10), () -> handled.contains("at-10:01"))).isTrue();

        clock.advance(Duration.ofMinutes(3).plusSeconds(59));
        quiet();
        assertThat(handled).containsExactly("now", "at-10:01");
        clock.advance(Duration.ofSeconds(1));
        assertThat(Await.until(Duration.ofSeconds(10), () -> handled.size() == 3)).isTrue();
        assertThat(handled).containsExactly("now", "at-10:01", "in-5-minutes");
    }

    @Test
    void anInstantInThePastMeansAtOnceAndAsyncSendsHonourDelaysToo() throws Exception {
        queues.processor("p", String.class).handler(handled::add).start();
        Enqueue<String> out = queues.enqueue("p", String.class);
        out.send(Msg.builder("yesterday").deliverAt(clock.instant().minus(Duration.ofDays(1))).build());
        out.sendAsync(Msg.builder("later").deliverAfter(Duration.ofMinutes(1)).build()).get(10, TimeUnit.SECONDS);

        assertThat(Await.until(Duration.ofSeconds(10), () -> handled.contains("yesterday"))).isTrue();
        quiet();
        assertThat(handled).containsExactly("yesterday");
        clock.advance(Duration.ofMinutes(1));
        assertThat(Await.until(Duration.ofSeconds(10), () -> handled.contains("later"))).isTrue();
    }
}
