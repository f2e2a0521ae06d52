package io.resq;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A {@link Dequeue} settles every delivery, whatever throws, and one bad delivery never takes its batch with it. */
@Timeout(60)
class DequeueBadDeliveryTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final FaultyTransport transport = new FaultyTransport(memory);
    private Queues queues = Queues.builder(transport).redelivery(RetryPolicy.fixed(Duration.ofMillis(50)).maxAttempts(2)).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private static List<String> receive(Dequeue<String> in, int n) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ids.size() < n && System.nanoTime() < deadline) {
            Msg<String> m = in.messages().poll(100, TimeUnit.MILLISECONDS);
            if (m != null) {
                ids.add(m.id());
                in.ack(m);
            }
        }
        return ids;
    }

    @Test
    void aDeliveryThatThrowsGoesBackLaterAndTheRestOfItsBatchIsHandedOut() throws Exception {
        Enqueue<String> out = queues.enqueue("q", String.class);
        for (int i = 0; i < 5; i++) {
            out.send(Msg.builder("m" + i).id("id" + i).build());
        }
        transport.headersThrowOnce.add("id1");
        Dequeue<String> in = queues.dequeue("q", String.class);

        List<String> first = receive(in, 4);
        assertThat(first).containsExactlyInAnyOrder("id0", "id2", "id3", "id4");
        // Back after its back-off (at least a second), not at once and not never.
        assertThat(receive(in, 1)).containsExactly("id1");
    }

    @Test
    void anAckThatThrowsSendsTheMessageBackAfterABackOff() throws Exception {
        queues.enqueue("q", String.class).send(Msg.builder("m").id("a1").build());
        transport.ackThrowsOnce.add("a1");
        Dequeue<String> in = queues.dequeue("q", String.class);

        Msg<String> m = in.messages().poll(5, TimeUnit.SECONDS);
        assertThat(m).isNotNull();
        in.acks().put(m);
        Msg<String> again = in.messages().poll(10, TimeUnit.SECONDS);
        assertThat(again).as("delivered again after the failed ack").isNotNull();
        assertThat(again.id()).isEqualTo("a1");
        in.ack(again);
    }

    @Test
    void anEnvelopeThatCannotBecomeAMessageIsDeadLetteredAndTheNextIsHandedOut() throws Exception {
        memory.sender("q").send(new Outbound("p1", "k", Map.of(),
                "{\"id\":\"p1\",\"payload\":\"x\",\"attributes\":{\"\":\"v\"}}".getBytes(UTF_8), Duration.ZERO)).get(5, TimeUnit.SECONDS);
        queues.enqueue("q", String.class).send(Msg.builder("next").id("p2").key("k").build());
        Dequeue<String> in = queues.dequeue("q", String.class);

        assertThat(receive(in, 1)).containsExactly("p2");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (memory.bodies("q_deadletter").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(memory.bodies("q_deadletter")).hasSize(1);
        assertThat(memory.messages("q_deadletter", String.class).get(0).errors())
                .singleElement().satisfies(f -> assertThat(f.statusCode()).isEqualTo(400));
    }

    @Test
    void aThrowingListenerNeverStopsADequeue() throws Exception {
        queues.close();
        queues = Queues.builder(InMemoryTransport.create()).listener(new Listener() {
            @Override
            public void onReceived(Msg<?> msg) {
                throw new IllegalStateException("listener bug");
            }
        }).build();
        Enqueue<String> out = queues.enqueue("q", String.class);
        out.send(Msg.builder("a").id("l1").build());
        out.send(Msg.builder("b").id("l2").build());
        Dequeue<String> in = queues.dequeue("q", String.class);

        assertThat(receive(in, 2)).containsExactlyInAnyOrder("l1", "l2");
    }
}
