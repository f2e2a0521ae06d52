package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RedriveTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.builder(transport).maxRedrives(2).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        for (int i = 0; i < 500 && !c.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).isTrue();
    }

    @Test
    void redriveMovesFilteredDeadLettersBackKeepingIdAndHistory() throws Exception {
        AtomicBoolean broken = new AtomicBoolean(true);
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor("orders", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    if (broken.get()) {
                        throw new IllegalStateException("bug 123");
                    }
                    handled.add(s);
                }).start();
        Enqueue<String> out = queues.enqueue("orders", String.class);
        Msg<String> a = out.send("a");
        out.send("b");
        waitFor(() -> transport.messages("orders_deadletter", String.class).size() == 2);

        broken.set(false);
        int moved = queues.redrive("orders_deadletter", "orders", m -> "\"a\"".equals(String.valueOf(m.payload())));

        assertThat(moved).isEqualTo(1);
        waitFor(() -> handled.contains("a"));
        assertThat(handled).containsExactly("a");
        assertThat(transport.messages("orders_deadletter", String.class)).extracting(Msg::payload).containsExactly("b");
        assertThat(a.id()).isNotNull();
    }

    @Test
    void redriveIsRecordedInTheHistoryAndLimited() throws Exception {
        queues.processor("loop", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalStateException("still broken");
                }).start();
        Msg<String> sent = queues.enqueue("loop", String.class).send("x");
        waitFor(() -> transport.messages("loop_deadletter", String.class).size() == 1);

        for (int round = 1; round <= 2; round++) {
            assertThat(queues.redrive("loop_deadletter", "loop")).isEqualTo(1);
            int expectedErrors = 1 + 2 * round;
            waitFor(() -> transport.messages("loop_deadletter", String.class).size() == 1
                    && transport.messages("loop_deadletter", String.class).get(0).errors().size() == expectedErrors);
        }
        Msg<String> dead = transport.messages("loop_deadletter", String.class).get(0);
        assertThat(dead.id()).isEqualTo(sent.id());
        assertThat(dead.errors()).extracting(Failure::type).containsExactly(
                IllegalStateException.class.getName(), Redrive.HISTORY_TYPE, IllegalStateException.class.getName(),
                Redrive.HISTORY_TYPE, IllegalStateException.class.getName());
        assertThat(dead.attributes()).containsEntry(Redrive.REDRIVES_ATTRIBUTE, "2");

        assertThat(queues.redrive("loop_deadletter", "loop")).as("the limit of 2 redrives is reached").isZero();
        assertThat(transport.messages("loop_deadletter", String.class)).hasSize(1);
        Thread.sleep(Duration.ofMillis(100).toMillis());
    }
}
