package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Dequeue#stream()} yields messages as they come and ends when the dequeue closes, like ranging over a Go channel. */
@Timeout(30)
class DequeueStreamTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    @Test
    void theStreamYieldsEachMessageAndEndsWhenTheDequeueCloses() throws Exception {
        Dequeue<String> in = queues.dequeue("q", String.class);
        List<String> seen = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> in.stream().forEach(m -> {
            seen.add(m.payload());
            in.ack(m);
        }));
        Enqueue<String> out = queues.enqueue("q", String.class);
        for (String s : List.of("a", "b", "c")) {
            out.send(s);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (seen.size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(seen).containsExactly("a", "b", "c");
        assertThat(consumer).isNotDone();

        in.close();
        consumer.get(5, TimeUnit.SECONDS);
        assertThat(transport.bodies("q")).as("all acked").isEmpty();
    }

    @Test
    void theStreamOfAClosedDequeueIsEmpty() {
        Dequeue<String> in = queues.dequeue("q", String.class);
        in.close();
        assertThat(in.stream()).isEmpty();
    }
}
