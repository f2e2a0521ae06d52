package io.resq.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Failure;
import io.resq.Listener;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import io.resq.testkit.ManualClock;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How to unit-test a handler: the in-memory transport and a {@link ManualClock} instead of a
 * broker and real time. The redelivery policy below waits 1, 2 and 4 minutes between deliveries;
 * the test moves the clock instead of waiting, so the seven minutes take milliseconds.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ChargeOrderTest {

    private static final Instant START = Instant.parse("2026-03-02T09:00:00Z");
    private static final Order ORDER = new Order(42, "carol", new BigDecimal("30.5"));

    // The same clock drives the transport's delays and the dates in the error history.
    private final ManualClock clock = new ManualClock(START);
    private final InMemoryTransport transport = InMemoryTransport.create(clock);
    private final Queues queues = Queues.builder(transport).clock(clock).listener(Listener.NONE).build();
    private final AtomicInteger calls = new AtomicInteger();

    @AfterEach
    void closeQueues() {
        queues.close();
    }

    /** The processor under test: the production handler with the production failure policy. */
    private Processor<Order> start(PaymentGateway gateway) {
        return queues.processor("orders", Order.class)
                .retry(RetryPolicy.none()) // in-process retries sleep in real time; this test is about redelivery
                .redelivery(RetryPolicy.exponential(Duration.ofMinutes(1), 2.0).maxAttempts(4))
                .abortOn(InvalidOrderException.class)
                .handler(new ChargeOrder((customer, amount) -> {
                    calls.incrementAndGet();
                    gateway.charge(customer, amount);
                }))
                .start();
    }

    @Test
    void gatewayDownForGoodEndsInTheDeadLetterQueueWithTheWholeHistory() throws Exception {
        Processor<Order> processor = start((customer, amount) -> {
            throw new IllegalStateException("payment gateway down");
        });
        Msg<Order> sent = queues.enqueue("orders", Order.class).send(ORDER);

        // Delivery 1 fails at once; the message waits in the queue for 1 minute, with the failure in its history.
        awaitUntil(() -> processor.health().redelivered() == 1);
        List<Msg<Order>> waiting = transport.messages("orders", Order.class);
        assertThat(waiting).singleElement().satisfies(m -> {
            assertThat(m.attempt()).isEqualTo(2);
            assertThat(m.errors()).hasSize(1);
        });

        // Nothing happens until the redelivery is due.
        clock.advance(Duration.ofSeconds(59));
        Thread.sleep(50);
        assertThat(calls).as("calls before the first redelivery is due").hasValue(1);

        clock.advance(Duration.ofSeconds(1));                 // 09:01, delivery 2
        awaitUntil(() -> processor.health().redelivered() == 2);
        clock.advance(Duration.ofMinutes(2));                 // 09:03, delivery 3
        awaitUntil(() -> processor.health().redelivered() == 3);
        clock.advance(Duration.ofMinutes(4));                 // 09:07, delivery 4, the last one
        awaitUntil(() -> processor.health().deadLettered() == 1);

        assertThat(calls).hasValue(4);
        assertThat(transport.messages("orders", Order.class)).isEmpty();
        List<Msg<Order>> dead = transport.messages("orders_deadletter", Order.class);
        assertThat(dead).hasSize(1);
        Msg<Order> letter = dead.get(0);
        assertThat(letter.id()).as("the id survives every redelivery").isEqualTo(sent.id());
        assertThat(letter.payload()).isEqualTo(ORDER);
        assertThat(letter.attempt()).isEqualTo(4);
        assertThat(letter.errors()).hasSize(4);
        assertThat(letter.errors()).extracting(Failure::statusCode).containsExactly(500, 500, 500, 500);
        assertThat(letter.errors()).extracting(Failure::type).containsOnly(IllegalStateException.class.getName());
        assertThat(letter.errors()).extracting(Failure::message).containsOnly("payment gateway down");
        assertThat(letter.errors()).extracting(Failure::date).containsExactly(
                START, START.plus(Duration.ofMinutes(1)), START.plus(Duration.ofMinutes(3)), START.plus(Duration.ofMinutes(7)));
        assertThat(letter.errors().get(0).stackTrace()).contains("IllegalStateException: payment gateway down");
    }

    @Test
    void invalidOrderIsDeadLetteredAtOnceWith422() throws Exception {
        Processor<Order> processor = start((customer, amount) -> { });
        queues.enqueue("orders", Order.class).send(new Order(7, "dave", BigDecimal.ZERO));

        awaitUntil(() -> processor.health().deadLettered() == 1);

        assertThat(processor.health().redelivered()).as("abortOn skips every redelivery").isZero();
        Msg<Order> letter = transport.messages("orders_deadletter", Order.class).get(0);
        assertThat(letter.attempt()).isEqualTo(1);
        assertThat(letter.errors()).singleElement().satisfies(f -> {
            assertThat(f.statusCode()).isEqualTo(InvalidOrderException.STATUS);
            assertThat(f.type()).isEqualTo(InvalidOrderException.class.getName());
            assertThat(f.message()).isEqualTo("order 7 has no positive amount");
            assertThat(f.date()).isEqualTo(START);
        });
        assertThat(calls).as("the gateway is never called for an invalid order").hasValue(0);
    }

    @Test
    void gatewayBackWithinTheRedeliveriesMeansTheOrderIsCharged() throws Exception {
        AtomicInteger failuresLeft = new AtomicInteger(2);
        Processor<Order> processor = start((customer, amount) -> {
            if (failuresLeft.getAndDecrement() > 0) {
                throw new IllegalStateException("payment gateway down");
            }
        });
        queues.enqueue("orders", Order.class).send(ORDER);

        awaitUntil(() -> processor.health().redelivered() == 1);
        clock.advance(Duration.ofMinutes(1));
        awaitUntil(() -> processor.health().redelivered() == 2);
        clock.advance(Duration.ofMinutes(2));
        awaitUntil(() -> processor.health().succeeded() == 1);

        assertThat(calls).hasValue(3);
        assertThat(processor.health().deadLettered()).isZero();
        assertThat(transport.messages("orders", Order.class)).isEmpty();
        assertThat(transport.messages("orders_deadletter", Order.class)).isEmpty();
    }

    /** Waits (in real time, a few milliseconds) for the processor to catch up with the clock. */
    private static void awaitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 5 s").isLessThan(deadline);
            Thread.sleep(2);
        }
    }
}
