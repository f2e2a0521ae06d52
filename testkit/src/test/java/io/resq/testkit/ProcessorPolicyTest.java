package io.resq.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Failure;
import io.resq.Listener;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessingException;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Processor rules that need a {@link ManualClock} or the in-memory transport's inspection. */
class ProcessorPolicyTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-23T10:00:00Z"));
    private final InMemoryTransport transport = InMemoryTransport.create(clock);
    private final Queues queues = Queues.builder(transport).clock(clock).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (c.getAsBoolean()) {
                return true;
            }
            Thread.sleep(5);
        }
        return c.getAsBoolean();
    }

    @Test
    void anHourLongRedeliveryWaitsForTheClockAndNotBefore() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofHours(1)).maxAttempts(2))
                .handler(s -> {
                    if (calls.incrementAndGet() == 1) {
                        throw new IllegalStateException("first delivery fails");
                    }
                }).start();
        queues.enqueue("orders", String.class).send("x");
        assertThat(await(() -> calls.get() == 1)).isTrue();
        // The hour counts from when the redelivery is sent, after the handler returned: advancing
        // the clock before that (a busy machine) would move the due time along with it.
        assertThat(await(() -> transport.messages("orders", String.class).stream().anyMatch(m -> m.attempt() == 2)))
                .as("redelivery sent").isTrue();

        clock.advance(Duration.ofMinutes(59));
        Thread.sleep(300);
        assertThat(calls.get()).as("not redelivered before the hour").isEqualTo(1);
        assertThat(transport.messages("orders", String.class)).singleElement()
                .satisfies(m -> assertThat(m.attempt()).isEqualTo(2));

        clock.advance(Duration.ofMinutes(1));
        assertThat(await(() -> calls.get() == 2)).as("redelivered once the hour passed").isTrue();
        assertThat(await(() -> transport.bodies("orders").isEmpty())).isTrue();
    }

    @Test
    void retryTimesRedeliveryCallsTheHandlerInAllAndRecordsOneFailurePerDelivery() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class)
                .retry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(3))
                .redelivery(RetryPolicy.exponential(Duration.ofMinutes(1), 2.0).maxAttempts(2))
                .handler(s -> {
                    throw new ProcessingException(422, "call " + calls.incrementAndGet());
                }).start();
        Msg<String> sent = queues.enqueue("orders", String.class).send("x");

        assertThat(await(() -> calls.get() == 3)).isTrue();
        assertThat(await(() -> transport.messages("orders", String.class).stream().anyMatch(m -> m.attempt() == 2))).isTrue();
        clock.advance(Duration.ofMinutes(1));
        assertThat(await(() -> transport.messages("orders_deadletter", String.class).size() == 1)).isTrue();

        assertThat(calls.get()).isEqualTo(6);
        Msg<String> dead = transport.messages("orders_deadletter", String.class).get(0);
        assertThat(dead.id()).isEqualTo(sent.id());
        assertThat(dead.errors()).extracting(Failure::statusCode).containsExactly(422, 422);
        assertThat(dead.errors()).extracting(Failure::message).containsExactly("call 3", "call 6");
        assertThat(dead.errors()).extracting(Failure::date).containsExactly(Instant.parse("2026-11-23T10:00:00Z"),
                Instant.parse("2026-11-23T10:01:00Z"));
    }

    @Test
    void abortOnSkipsRetriesAndRedeliveries() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class).abortOn(IllegalArgumentException.class)
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalArgumentException("invalid order");
                }).start();
        queues.enqueue("orders", String.class).send("x");

        assertThat(await(() -> transport.messages("orders_deadletter", String.class).size() == 1)).isTrue();
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void closeInterruptsBackoffWaitsAndReleasesTheMessageUnfailed() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Processor<String> p = queues.processor("orders", String.class)
                .retry(RetryPolicy.fixed(Duration.ofMinutes(10)).maxAttempts(2))
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalStateException("down");
                }).start();
        queues.enqueue("orders", String.class).send("x");
        assertThat(await(() -> calls.get() == 1)).isTrue();

        long start = System.nanoTime();
        p.close();

        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("close did not wait out the 10 min backoff").isLessThan(Duration.ofSeconds(5));
        assertThat(transport.messages("orders", String.class)).singleElement().satisfies(m -> {
            assertThat(m.attempt()).as("released, not redelivered").isEqualTo(1);
            assertThat(m.errors()).isEmpty();
        });
        assertThat(transport.bodies("orders_deadletter")).isEmpty();
    }

    @Test
    void closeLetsRunningHandlersFinishWithinTheDrainTimeout() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        Set<String> done = ConcurrentHashMap.newKeySet();
        Processor<String> p = queues.processor("orders", String.class).drainTimeout(Duration.ofSeconds(5))
                .handler(s -> {
                    started.countDown();
                    Thread.sleep(300);
                    done.add(s);
                }).start();
        queues.enqueue("orders", String.class).send("x");
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

        p.close();
        p.close();

        assertThat(done).containsExactly("x");
        assertThat(transport.bodies("orders")).isEmpty();
    }

    @Test
    void listenerSeesEveryEvent() throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class)
                .retry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(2))
                .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                .listener(new Listener() {
                    @Override
                    public void onReceived(Msg<?> msg) {
                        events.add("received");
                    }

                    @Override
                    public void onSucceeded(Msg<?> msg, Duration duration) {
                        events.add("succeeded");
                    }

                    @Override
                    public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
                        events.add("retried");
                    }

                    @Override
                    public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
                        events.add("redelivered " + delay.toSeconds() + "s");
                    }
                })
                .handler(s -> {
                    if (calls.incrementAndGet() <= 2) {
                        throw new IllegalStateException("flaky");
                    }
                }).start();
        queues.enqueue("orders", String.class).send("x");
        assertThat(await(() -> events.contains("redelivered 1s"))).isTrue();
        clock.advance(Duration.ofSeconds(1));

        assertThat(await(() -> events.contains("succeeded"))).isTrue();
        assertThat(events).containsExactly("received", "retried", "redelivered 1s", "received", "succeeded");
        assertThat(queues.health().processors().get(0)).satisfies(h -> {
            assertThat(h.succeeded()).isEqualTo(1);
            assertThat(h.retried()).isEqualTo(1);
            assertThat(h.redelivered()).isEqualTo(1);
            assertThat(h.deadLettered()).isZero();
            assertThat(h.lastFailure().message()).isEqualTo("flaky");
        });
    }

    @Test
    void slowHandlerAppliesBackpressure() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Processor<String> p = queues.processor("orders", String.class).concurrency(1).prefetch(4)
                .handler(s -> release.await()).start();
        for (int i = 0; i < 50; i++) {
            queues.enqueue("orders", String.class).messages().put("m" + i);
        }
        assertThat(await(() -> transport.bodies("orders").size() == 50)).isTrue();
        Thread.sleep(300);

        assertThat(p.health().inFlight()).as("fetched and unsettled, at most the prefetch").isEqualTo(4);
        release.countDown();
        assertThat(await(() -> transport.bodies("orders").isEmpty())).isTrue();
    }

    @Test
    void aMessageWhoseDeadLetterCannotBeSentStaysInItsQueue() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        transport.failSends("orders_deadletter", new java.io.IOException("dead-letter queue unreachable"));
        queues.processor("orders", String.class).abortOn(IllegalArgumentException.class)
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalArgumentException("invalid");
                }).start();
        queues.enqueue("orders", String.class).send("x");

        assertThat(await(() -> calls.get() >= 3)).as("released and delivered again").isTrue();
        assertThat(transport.bodies("orders")).hasSize(1);

        transport.healSends("orders_deadletter");
        assertThat(await(() -> transport.bodies("orders_deadletter").size() == 1)).isTrue();
        assertThat(await(() -> transport.bodies("orders").isEmpty())).isTrue();
    }

    @Test
    void abortOnHoldsWhateverTheOrderOfTheBuilderCalls() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class)
                .abortOn(IllegalArgumentException.class)
                .retry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(3))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(3))
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalArgumentException("invalid");
                }).start();
        queues.enqueue("orders", String.class).send("x");

        assertThat(await(() -> transport.bodies("orders_deadletter").size() == 1)).isTrue();
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void aBreakerInsideTheHandlerIsAnOrdinary503Failure() throws Exception {
        io.github.resilience4j.circuitbreaker.CircuitBreaker inner = io.github.resilience4j.circuitbreaker.CircuitBreaker.ofDefaults("payments");
        inner.transitionToOpenState();
        queues.processor("orders", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .circuitBreaker(io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.ofDefaults())
                .handler(s -> inner.executeRunnable(() -> { })).start();
        queues.enqueue("orders", String.class).send("x");

        assertThat(await(() -> transport.messages("orders_deadletter", String.class).size() == 1)).isTrue();
        assertThat(transport.messages("orders_deadletter", String.class).get(0).errors())
                .extracting(Failure::statusCode).containsExactly(503);
    }
}
