package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The channels of {@link Enqueue} and {@link Dequeue} behave like channels: closed means closed, never a silent drop or a hang. */
@Timeout(60)
class ChannelsTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    @Test
    void aClosedSendChannelRefusesInsteadOfDropping() throws Exception {
        Enqueue<String> out = queues.enqueue("q", String.class);
        out.close();

        assertThat(out.messages().offer("a")).isFalse();
        assertThat(out.messages().offer("a", 10, TimeUnit.MILLISECONDS)).isFalse();
        assertThatThrownBy(() -> out.messages().add("a")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> out.messages().put("a")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThat(transport.bodies("q")).isEmpty();
    }

    @Test
    void everyMessageAcceptedByTheSendChannelIsSentOrReportedEvenWhenClosedMidway() throws Exception {
        Enqueue<String> out = queues.enqueue("q", String.class);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch going = new CountDownLatch(4);
        ExecutorService producers = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            done.add(producers.submit(() -> {
                going.countDown();
                for (int i = 0; !stop.get(); i++) {
                    try {
                        if (out.messages().offer(thread + "-" + i, 1, TimeUnit.MILLISECONDS)) {
                            accepted.incrementAndGet();
                        } else {
                            refused.incrementAndGet();
                        }
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }));
        }
        going.await();
        Thread.sleep(50);
        out.close();
        Thread.sleep(200); // producers keep offering after the close
        stop.set(true);
        for (Future<?> f : done) {
            f.get(30, TimeUnit.SECONDS);
        }
        producers.shutdown();

        assertThat(refused.get()).as("offers after close are refused").isPositive();
        assertThat(transport.bodies("q").size() + out.deadLetters().size()).isEqualTo(accepted.get());
    }

    @Test
    void theReceiveChannelRefusesUserInserts() throws Exception {
        queues.enqueue("q", String.class).send("x");
        Dequeue<String> in = queues.dequeue("q", String.class);
        Msg<String> m = in.messages().poll(5, TimeUnit.SECONDS);
        assertThat(m).isNotNull();

        assertThatThrownBy(() -> in.messages().offer(m)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("enqueue");
        assertThatThrownBy(() -> in.messages().add(m)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> in.messages().put(m)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> in.messages().addAll(List.of(m))).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void takeOnAClosedDrainedReceiveChannelThrowsInsteadOfBlockingForever() throws Exception {
        Dequeue<String> in = queues.dequeue("q", String.class);
        CompletableFuture<Throwable> taker = CompletableFuture.supplyAsync(() -> {
            try {
                in.messages().take();
                return null;
            } catch (Throwable e) {
                return e;
            }
        });
        Thread.sleep(200);
        in.close();

        assertThat(taker.get(5, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        long start = System.nanoTime();
        assertThat(in.messages().poll(10, TimeUnit.SECONDS)).isNull();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("poll on a closed channel returns at once").isLessThan(5000);
    }
}
