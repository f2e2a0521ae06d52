package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** A listener that throws, whatever it throws, leaves every message's outcome as it would have been. */
class ProcessorListenerTest {

    private static void waitFor(BooleanSupplier c) throws InterruptedException {
        for (int i = 0; i < 500 && !c.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).isTrue();
    }

    private static void assertOutcomesUnchanged(Listener queuesListener, Listener processorListener) throws Exception {
        InMemoryTransport transport = InMemoryTransport.create();
        List<String> handled = new CopyOnWriteArrayList<>();
        try (Queues queues = Queues.builder(transport).listener(queuesListener).build()) {
            ProcessorBuilder<String> b = queues.processor("orders", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                    .handler(s -> {
                        handled.add(s);
                        if (s.equals("bad")) {
                            throw new IllegalStateException("db down");
                        }
                    });
            if (processorListener != null) {
                b.listener(processorListener);
            }
            Processor<String> p = b.start();
            Enqueue<String> out = queues.enqueue("orders", String.class);
            out.send("good");
            out.send("bad");

            waitFor(() -> p.health().succeeded() == 1 && p.health().deadLettered() == 1);
            assertThat(handled).containsExactlyInAnyOrder("good", "bad");
            assertThat(transport.messages("orders", String.class)).isEmpty();
            assertThat(transport.messages("orders_deadletter", String.class)).singleElement().satisfies(m -> {
                assertThat(m.payload()).isEqualTo("bad");
                assertThat(m.errors()).extracting(Failure::message).containsExactly("db down");
            });
        }
    }

    @Test
    void theQueuesListenerThrowingAnError() throws Exception {
        assertOutcomesUnchanged(ListenersTest.throwing(new ListenersTest.ListenerBroke()), null);
    }

    @Test
    void theQueuesListenerThrowingARuntimeException() throws Exception {
        assertOutcomesUnchanged(ListenersTest.throwing(new IllegalStateException("listener bug")), null);
    }

    @Test
    void aProcessorListenerThrowingAnAssertionError() throws Exception {
        assertOutcomesUnchanged(Listener.logging(), ListenersTest.throwing(new AssertionError("expected 1 but was 2")));
    }
}
