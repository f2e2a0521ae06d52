package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a handler can read about its call, and how it asks for a redelivery delay of its own. */
@Timeout(30)
class HandlerContextTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final Queues queues = Queues.using(memory);

    @AfterEach
    void close() {
        queues.close();
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Waits.until(Duration.ofSeconds(10), c);
    }

    @Test
    void aHandlerReadsItsCallNumberAndTheTimeoutsDeadline() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Instant before = Instant.now();
        queues.processor("c", String.class).timeout(Duration.ofSeconds(5)).retry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .msgHandler(m -> {
                    HandlerContext c = HandlerContext.current();
                    Instant deadline = c.deadline().orElseThrow();
                    seen.add(c.call() + ":" + m.attempt() + ":" + (!deadline.isBefore(before.plusSeconds(5)) && deadline.isBefore(Instant.now().plusSeconds(6)))
                            + ":" + (c.remaining().orElseThrow().compareTo(Duration.ofSeconds(5)) <= 0));
                    if (c.call() == 1) {
                        throw new IllegalStateException("first call fails");
                    }
                }).start();
        queues.enqueue("c", String.class).send("p");

        assertThat(await(() -> seen.size() == 2)).isTrue();
        assertThat(seen).containsExactly("1:1:true:true", "2:1:true:true");
    }

    @Test
    void withoutATimeoutThereIsNoDeadlineAndOutsideAHandlerNoContext() throws Exception {
        List<Boolean> hasDeadline = new CopyOnWriteArrayList<>();
        queues.processor("n", String.class).handler(p -> hasDeadline.add(HandlerContext.current().deadline().isPresent())).start();
        queues.enqueue("n", String.class).send("p");
        assertThat(await(() -> hasDeadline.size() == 1)).isTrue();
        assertThat(hasDeadline).containsExactly(false);
        assertThatThrownBy(HandlerContext::current).isInstanceOf(IllegalStateException.class).hasMessageContaining("handler");
    }

    @Test
    void retryLaterSkipsInProcessRetriesAndRedeliversAfterTheDelayItAskedForWithinMaxDelay() throws Exception {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        List<Duration> redeliveredAfter = new CopyOnWriteArrayList<>();
        Queues watched = Queues.builder(memory).listener(new Listener() {
            @Override
            public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
                redeliveredAfter.add(delay);
            }
        }).build();
        try (watched) {
            watched.processor("r", String.class).retry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3))
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3).maxDelay(Duration.ofMillis(300)))
                    .msgHandler(m -> {
                        attempts.add(m.attempt());
                        if (m.attempt() == 1) {
                            throw new RetryLaterException(Duration.ofMillis(200), "rate limited");
                        }
                        if (m.attempt() == 2) {
                            throw new RetryLaterException(Duration.ofHours(1), "come back much later");
                        }
                    }).start();
            watched.enqueue("r", String.class).send("p");

            assertThat(await(() -> attempts.size() == 3)).as("attempts %s", attempts).isTrue();
            assertThat(attempts).as("one call per delivery: no in-process retries").containsExactly(1, 2, 3);
            assertThat(redeliveredAfter).containsExactly(Duration.ofMillis(200), Duration.ofMillis(300));
        }
    }

    @Test
    void retryLaterWithNoRedeliveryLeftIsDeadLetteredWith503() throws Exception {
        queues.processor("d", String.class).redelivery(RetryPolicy.none())
                .handler(p -> {
                    throw new RetryLaterException(Duration.ofSeconds(30), "rate limited");
                }).start();
        queues.enqueue("d", String.class).send("p");
        assertThat(await(() -> memory.messages("d_deadletter", String.class).size() == 1)).isTrue();
        Failure f = memory.messages("d_deadletter", String.class).get(0).errors().get(0);
        assertThat(f.statusCode()).isEqualTo(503);
        assertThat(f.message()).isEqualTo("rate limited");
        assertThatThrownBy(() -> new RetryLaterException(Duration.ofSeconds(-1), "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
