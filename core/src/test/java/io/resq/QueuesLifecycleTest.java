package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Opening and closing: enqueue is cheap per request, close closes everything once, even when a part throws. */
@Timeout(60)
class QueuesLifecycleTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final FaultyTransport transport = new FaultyTransport(memory);
    private final Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        try {
            queues.close();
        } catch (ResqException ignored) {
            // a test made a part throw on purpose
        }
    }

    private static long enqueueThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("resq-enqueue-")).count();
    }

    @Test
    void enqueueIsSharedPerQueueAndTypeAndStartsNoThreadPerCall() throws Exception {
        long before = enqueueThreads();
        Enqueue<String> first = queues.enqueue("requests", String.class);
        for (int i = 0; i < 500; i++) {
            Enqueue<String> e = queues.enqueue("requests", String.class);
            assertThat(e).isSameAs(first);
            e.send("r" + i);
        }
        assertThat(enqueueThreads() - before).as("no send thread until the channel is used").isZero();
        assertThat(queues.enqueue("requests", Integer.class)).isNotSameAs(first);
        assertThat(queues.enqueue("other", String.class)).isNotSameAs(first);

        first.messages().put("via channel");
        assertThat(enqueueThreads() - before).isEqualTo(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (memory.bodies("requests").size() < 501 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(memory.bodies("requests")).hasSize(501);
    }

    @Test
    void aClosedEnqueueIsReplacedByAnOpenOne() {
        Enqueue<String> first = queues.enqueue("q", String.class);
        first.close();
        Enqueue<String> second = queues.enqueue("q", String.class);

        assertThat(second).isNotSameAs(first);
        second.send("still sends");
        assertThat(memory.bodies("q")).hasSize(1);
    }

    @Test
    void closeClosesEveryPartEvenWhenOneThrows() {
        transport.receiverCloseThrows.add("a");
        queues.processor("a", String.class).handler(s -> { }).start();
        queues.processor("b", String.class).handler(s -> { }).start();
        Dequeue<String> c = queues.dequeue("c", String.class);

        assertThatThrownBy(queues::close).isInstanceOf(ResqException.class).hasRootCauseMessage("receiver of a failed to close");
        assertThat(transport.closedReceivers).contains("a", "b", "c");
        assertThat(transport.closed).isTrue();
        assertThat(c.messages()).isEmpty();
        queues.close(); // idempotent: done is done
    }

    @Test
    void aSecondConcurrentCloseWaitsForTheFirst() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        queues.processor("slow", String.class).drainTimeout(Duration.ofSeconds(1)).handler(s -> {
            running.countDown();
            Thread.sleep(800);
        }).start();
        queues.enqueue("slow", String.class).send("x");
        assertThat(running.await(5, TimeUnit.SECONDS)).isTrue();

        CompletableFuture<Void> first = CompletableFuture.runAsync(queues::close);
        Thread.sleep(100);
        queues.close();

        assertThat(transport.closed).as("the second close returned only once everything was closed").isTrue();
        first.get(10, TimeUnit.SECONDS);
    }
}
