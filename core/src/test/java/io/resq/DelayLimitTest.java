package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A delayed send longer than the transport can hold is refused before it reaches the broker. */
class DelayLimitTest {

    private final FaultyTransport transport = new FaultyTransport(InMemoryTransport.create());
    private Queues queues;

    @AfterEach
    void close() {
        if (queues != null) {
            queues.close();
        }
    }

    @Test
    void aDelayOverTheTransportsLimitIsRefusedWithWhatToDo() throws Exception {
        transport.maxDelay = Duration.ofDays(1);
        queues = Queues.using(transport);
        Enqueue<String> out = queues.enqueue("q", String.class);

        assertThatThrownBy(() -> out.send(Msg.builder("p").deliverAfter(Duration.ofDays(2)).build()))
                .isInstanceOf(SendException.class).hasMessageContaining("PT48H").hasMessageContaining("PT24H");
        assertThatThrownBy(() -> out.sendAsync(Msg.builder("p").deliverAfter(Duration.ofDays(2)).build()).get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(SendException.class);
        out.send(Msg.builder("p").deliverAfter(Duration.ofDays(1)).build());
        assertThat(transport.sent).hasSize(1);
        assertThat(transport.sent.get(0).getValue().delay()).isEqualTo(Duration.ofDays(1));
    }

    @Test
    void aTransportWithoutDelayedDeliveryRefusesEveryDelay() {
        transport.maxDelay = Duration.ZERO;
        queues = Queues.using(transport);
        assertThatThrownBy(() -> queues.enqueue("q", String.class).send(Msg.builder("p").deliverAfter(Duration.ofSeconds(1)).build()))
                .isInstanceOf(SendException.class).hasMessageContaining("no delayed delivery");
    }

    @Test
    void negativeDelaysAreRefusedWhereTheyAreSet() {
        assertThatThrownBy(() -> Msg.builder("p").deliverAfter(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("delay must be >= 0");
    }
}
