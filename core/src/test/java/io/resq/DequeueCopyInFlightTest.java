package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A failed message put into a dequeue's ack channel has its copy sent while the ack thread goes
 * on with the next message; the original stays unacked until the broker confirmed the copy, and a
 * close waits for copies in flight. The dead-letter queue's sends are held by
 * {@link FaultyTransport#holdSends}; the test thread confirms them, as a broker client's I/O thread would.
 */
@Timeout(60)
class DequeueCopyInFlightTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final FaultyTransport faulty = new FaultyTransport(memory);
    private final Queues queues = Queues.builder(faulty).redelivery(RetryPolicy.none()).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private List<String> payloads(String queue) {
        return memory.messages(queue, String.class).stream().map(Msg::payload).toList();
    }

    @Test
    void theAckThreadGoesOnWhileACopyIsInFlightAndTheOriginalIsAckedOnceItIsConfirmed() throws Exception {
        faulty.holdSends.add("q_deadletter");
        Enqueue<String> out = queues.enqueue("q", String.class);
        out.send("bad1");
        out.send("bad2");
        out.send("good");
        Dequeue<String> in = queues.dequeue("q", String.class);

        for (int i = 0; i < 3; i++) {
            Msg<String> m = in.messages().take();
            in.acks().put(m.payload().startsWith("bad") ? m.failed(new IllegalStateException("no")) : m);
        }

        // Synchronously, the ack thread would wait up to 30 s for the first copy: no second copy, "good" unacked.
        assertThat(Waits.until(Duration.ofSeconds(5), () -> faulty.held.size() == 2 && payloads("q").equals(List.of("bad1", "bad2"))))
                .as("both copies in flight at once, the message behind them acked; held: %s, q: %s", faulty.held, payloads("q"))
                .isTrue();
        assertThat(payloads("q_deadletter")).as("nothing confirmed yet").isEmpty();

        assertThat(faulty.releaseHeld()).isEqualTo(2);

        assertThat(Waits.until(Duration.ofSeconds(5), () -> payloads("q").isEmpty())).as("originals acked once confirmed").isTrue();
        assertThat(payloads("q_deadletter")).containsExactly("bad1", "bad2");
    }

    @Test
    void closeWaitsForACopyInFlightAndItsOriginalIsAcked() throws Exception {
        faulty.holdSends.add("q_deadletter");
        queues.enqueue("q", String.class).send("bad");
        Dequeue<String> in = queues.dequeue("q", String.class);
        in.acks().put(in.messages().take().failed(new IllegalStateException("no")));
        assertThat(Waits.until(Duration.ofSeconds(5), () -> faulty.held.size() == 1)).isTrue();

        Thread confirmer = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                return;
            }
            faulty.releaseHeld();
        });
        confirmer.start();
        in.close();
        confirmer.join();

        assertThat(payloads("q_deadletter")).containsExactly("bad");
        assertThat(payloads("q")).as("acked by the completion before the receiver closed").isEmpty();
    }
}
