package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A processor's default prefetch is the transport's to suggest; one the application sets wins. */
class PrefetchDefaultTest {

    private final FaultyTransport transport = new FaultyTransport(InMemoryTransport.create());
    private final Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    private int prefetchOf(ProcessorBuilder<String> b) {
        b.handler(s -> { }).start();
        return transport.receiverOptions.get(transport.receiverOptions.size() - 1).prefetch();
    }

    @Test
    void theTransportSuggestsTheDefaultAndAnExplicitPrefetchWins() {
        assertThat(prefetchOf(queues.processor("a", String.class).concurrency(4))).as("the SPI default").isEqualTo(16);
        assertThat(prefetchOf(queues.processor("b", String.class).concurrency(12))).isEqualTo(24);

        transport.prefetchFor = c -> c + 1;
        assertThat(prefetchOf(queues.processor("c", String.class).concurrency(4))).as("the transport's suggestion").isEqualTo(5);
        assertThat(prefetchOf(queues.processor("d", String.class).concurrency(4).prefetch(7))).as("set by the application").isEqualTo(7);

        transport.prefetchFor = c -> 1;
        assertThat(prefetchOf(queues.processor("e", String.class).concurrency(4))).as("never below the concurrency").isEqualTo(4);
    }

    @Test
    void theInMemoryTransportHandsOutAWideWindow() {
        InMemoryTransport memory = InMemoryTransport.create();
        assertThat(memory.defaultPrefetch(1)).isEqualTo(InMemoryTransport.DEFAULT_PREFETCH).isEqualTo(256);
        assertThat(memory.defaultPrefetch(200)).isEqualTo(400);
    }

    @Test
    void aProcessorOnTheInMemoryTransportTakesItsWholeDefaultWindow() throws Exception {
        InMemoryTransport memory = InMemoryTransport.create();
        CountDownLatch release = new CountDownLatch(1);
        try (Queues q = Queues.using(memory)) {
            for (int i = 0; i < 300; i++) {
                q.enqueue("w", String.class).send("m" + i);
            }
            Processor<String> p = q.processor("w", String.class).handler(s -> release.await()).start();
            try {
                // One message in the handler, the rest of the window handed out and waiting: 300 - 256 stay ready.
                Waits.until(Duration.ofSeconds(15), () -> p.health().inFlight() == InMemoryTransport.DEFAULT_PREFETCH);
                assertThat(p.health().inFlight()).isEqualTo(256);
            } finally {
                release.countDown();
            }
        }
    }
}
