package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DequeueTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.builder(transport)
            .redelivery(RetryPolicy.fixed(Duration.ofMillis(50)).maxAttempts(2))
            .build();

    @AfterEach
    void close() {
        queues.close();
    }

    private static <T> Msg<T> take(Dequeue<T> in) throws InterruptedException {
        Msg<T> m = in.messages().poll(5, TimeUnit.SECONDS);
        assertThat(m).as("a message within 5 s").isNotNull();
        return m;
    }

    @Test
    void sendReceiveAckThroughChannels() throws Exception {
        Enqueue<String> out = queues.enqueue("orders", String.class);
        Dequeue<String> in = queues.dequeue("orders", String.class);
        Msg<String> sent = out.send(Msg.builder("hello").key("k").attribute("trace", "t").build());

        Msg<String> got = take(in);
        assertThat(got.id()).isEqualTo(sent.id());
        assertThat(got.queue()).isEqualTo("orders");
        assertThat(got.attempt()).isEqualTo(1);
        assertThat(got.attributes()).containsEntry("trace", "t");
        in.acks().put(got);

        assertThat(waitUntilEmpty("orders")).isTrue();
    }

    @Test
    void failedOnTheAckChannelIsRedeliveredWithHistoryThenDeadLettered() throws Exception {
        Enqueue<String> out = queues.enqueue("orders", String.class);
        Dequeue<String> in = queues.dequeue("orders", String.class);
        Msg<String> sent = out.send("boom");

        Msg<String> first = take(in);
        in.acks().put(first.failed(new IllegalStateException("first")));
        Msg<String> second = take(in);
        assertThat(second.id()).isEqualTo(sent.id());
        assertThat(second.attempt()).isEqualTo(2);
        assertThat(second.errors()).extracting(Failure::message).containsExactly("first");
        in.nack(second, new ProcessingException(422, "second"));

        assertThat(waitUntilEmpty("orders")).isTrue();
        List<Msg<String>> dead = transport.messages("orders_deadletter", String.class);
        assertThat(dead).singleElement().satisfies(d -> {
            assertThat(d.id()).isEqualTo(sent.id());
            assertThat(d.errors()).extracting(Failure::statusCode).containsExactly(500, 422);
        });
    }

    @Test
    void abortOnSkipsRedelivery() throws Exception {
        try (Queues q = Queues.builder(transport).redelivery(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(5)
                .abortOn(IllegalArgumentException.class)).build()) {
            Dequeue<String> in = q.dequeue("abort", String.class);
            q.enqueue("abort", String.class).send("x");
            in.nack(take(in), new IllegalArgumentException("bad order"));

            assertThat(transport.messages("abort_deadletter", String.class)).singleElement()
                    .satisfies(d -> assertThat(d.errors()).extracting(Failure::message).containsExactly("bad order"));
        }
    }

    @Test
    void undecodableBodyGoesToTheDeadLetterQueueAndTheNextMessageArrives() throws Exception {
        Dequeue<String> in = queues.dequeue("orders", String.class);
        transport.sender("orders").send(Outbound.of("junk", new byte[] {1, 2, 3})).get();
        queues.enqueue("orders", String.class).send("fine");

        assertThat(take(in).payload()).isEqualTo("fine");
        assertThat(transport.bodies("orders_deadletter")).singleElement().isEqualTo(new byte[] {1, 2, 3});
        assertThat(transport.messages("orders_deadletter", byte[].class)).singleElement()
                .satisfies(d -> assertThat(d.errors()).extracting(Failure::statusCode).containsExactly(400));
    }

    @Test
    void closeHandsUnreadMessagesBack() throws Exception {
        Enqueue<String> out = queues.enqueue("orders", String.class);
        Dequeue<String> in = queues.dequeue("orders", String.class);
        for (int i = 0; i < 5; i++) {
            out.send("m" + i);
        }
        Msg<String> taken = take(in);
        in.close();

        Dequeue<String> again = queues.dequeue("orders", String.class);
        java.util.Set<String> got = new java.util.HashSet<>();
        for (int i = 0; i < 5; i++) {
            Msg<String> m = take(again);
            got.add(m.payload());
            again.ack(m);
        }
        assertThat(got).contains(taken.payload()).hasSize(5);
    }

    private boolean waitUntilEmpty(String queue) throws InterruptedException {
        for (int i = 0; i < 250; i++) {
            if (transport.bodies(queue).isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }
}
