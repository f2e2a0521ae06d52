package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The core's part of consumer groups: copies addressed to the failing group, dead letters that name it, no default group. */
@Timeout(60)
class GroupsTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final FaultyTransport transport = new FaultyTransport(memory);
    private final Queues queues = Queues.builder(transport).redelivery(RetryPolicy.fixed(Duration.ofMillis(20)).maxAttempts(2)).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).isTrue();
    }

    private List<Outbound> sentTo(String queue) {
        return transport.sent.stream().filter(e -> e.getKey().equals(queue)).map(java.util.Map.Entry::getValue).toList();
    }

    @Test
    void aProcessorsRedeliveryIsAddressedToItsGroupAndItsDeadLetterNamesIt() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("q", String.class).group("billing").retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(20)).maxAttempts(2)).handler(s -> {
            calls.incrementAndGet();
            throw new IllegalStateException("down");
        }).start();
        queues.enqueue("q", String.class).send("x");

        waitFor(() -> memory.bodies("q_deadletter").size() == 1);
        List<Outbound> toQueue = sentTo("q");
        assertThat(toQueue).hasSize(2);
        assertThat(toQueue.get(0).group()).as("the original is for every group").isNull();
        assertThat(toQueue.get(1).group()).as("the redelivery is billing's").isEqualTo("billing");
        assertThat(memory.messages("q_deadletter", String.class).get(0).attributes()).containsEntry("resq-group", "billing");
        assertThat(sentTo("q_deadletter").get(0).group()).as("a dead letter is for whoever reads the dead-letter queue").isNull();
    }

    @Test
    void aDequeuesRedeliveryIsAddressedToItsGroup() throws Exception {
        Dequeue<String> in = queues.dequeue("q", String.class, "audit");
        queues.enqueue("q", String.class).send("x");
        Msg<String> m = in.messages().poll(5, TimeUnit.SECONDS);
        assertThat(m).isNotNull();
        in.nack(m, new IllegalStateException("once"));

        assertThat(sentTo("q")).hasSize(2);
        assertThat(sentTo("q").get(1).group()).isEqualTo("audit");
    }

    @Test
    void redriveSendsADeadLetterBackToTheGroupThatGaveItUp() throws Exception {
        queues.processor("q", String.class).group("billing").retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalStateException("down");
                }).start();
        queues.enqueue("q", String.class).send("x");
        waitFor(() -> memory.bodies("q_deadletter").size() == 1);

        assertThat(queues.redrive("q_deadletter", "q_fixed")).isEqualTo(1);
        assertThat(sentTo("q_fixed")).singleElement().satisfies(o -> assertThat(o.group()).isEqualTo("billing"));
    }

    @Test
    void withoutConsumerGroupsNoGroupIsNeeded() throws Exception {
        AtomicInteger handled = new AtomicInteger();
        queues.processor("q", String.class).handler(s -> handled.incrementAndGet()).start();
        Dequeue<String> in = queues.dequeue("other", String.class);
        queues.enqueue("q", String.class).send("x");
        queues.enqueue("other", String.class).send("y");

        waitFor(() -> handled.get() == 1);
        assertThat(in.messages().poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(queues.health().processors()).singleElement().satisfies(h -> assertThat(h.group()).isNull());
    }
}
