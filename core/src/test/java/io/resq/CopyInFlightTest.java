package io.resq;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.MDC;

/**
 * A failed delivery's redelivery or dead-letter copy is written while the worker goes on: the
 * original stays unacked (and holds its prefetch slot) until the broker confirmed the copy, the
 * listener and interceptors learn the outcome then, on a thread of the processor's own, and a
 * refused copy, a close and the prefetch bound behave as they do for a copy written in line.
 *
 * <p>The sends of a queue are held by {@link FaultyTransport#holdSends}; the test thread confirms
 * them, standing in for a broker client's I/O thread.
 */
@Timeout(60)
class CopyInFlightTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final FaultyTransport faulty = new FaultyTransport(memory);
    /** One line per listener or interceptor event: what, the message's payload, the thread, the MDC's message id. */
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final List<String> threads = new CopyOnWriteArrayList<>();
    private final Queues queues = Queues.builder(faulty).listener(new Listener() {
        @Override
        public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
            record("redelivered " + msg.payload(), msg);
        }

        @Override
        public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
            record("dead-lettered " + (msg.payload() instanceof byte[] b ? new String(b, UTF_8) : msg.payload()), msg);
        }
    }).interceptor(new Interceptor() {
        @Override
        public Handling onHandle(Msg<?> msg, String group) {
            return new Handling() {
                @Override
                public void completed(Outcome outcome, Throwable failure) {
                    record("completed " + outcome + " " + msg.payload(), msg);
                }
            };
        }
    }).build();

    private void record(String event, Msg<?> msg) {
        events.add(event);
        threads.add(Thread.currentThread().getName() + (msg.id().equals(MDC.get("resq.message.id")) ? " in mdc" : " without mdc"));
    }

    @AfterEach
    void close() {
        queues.close();
    }

    private static void waitFor(String what, BooleanSupplier c) throws InterruptedException {
        assertThat(Waits.until(Duration.ofSeconds(20), c)).as(what).isTrue();
    }

    /** What sits in {@code queue}, unacked deliveries included. */
    private List<String> payloads(String queue) {
        return memory.messages(queue, String.class).stream().map(Msg::payload).toList();
    }

    private void send(String queue, String payload, String key) {
        queues.enqueue(queue, String.class).send(Msg.builder(payload).key(key).build());
    }

    private static void failOnBad(String s) {
        if (s.startsWith("bad")) {
            throw new IllegalStateException("no " + s);
        }
    }

    // ------------------------------------------------------------------ the worker goes on

    @Test
    void anotherKeysMessageIsHandledWhileADeadLetterCopyIsInFlightAndTheOriginalIsAckedOnlyOnceItIsConfirmed() throws Exception {
        faulty.holdSends.add("q_deadletter");
        List<String> handled = new CopyOnWriteArrayList<>();
        Processor<String> p = queues.processor("q", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    handled.add(s);
                    failOnBad(s);
                }).start();
        send("q", "bad", "a");
        waitFor("the dead-letter copy is sent and held", () -> faulty.held.size() == 1);
        send("q", "good", "b");

        // One worker: the old code held it until the copy was confirmed (up to 30 s).
        assertThat(Waits.until(Duration.ofSeconds(5), () -> p.health().succeeded() == 1))
                .as("the next message is handled while the copy is in flight").isTrue();
        assertThat(handled).containsExactly("bad", "good");
        assertThat(payloads("q")).as("the original stays unacked until its copy is confirmed").containsExactly("bad");
        assertThat(p.health().inFlight()).as("and keeps its place in the in-flight count").isEqualTo(1);
        assertThat(p.health().deadLettered()).isZero();
        assertThat(events).as("no listener or interceptor hears of it before the confirm").containsExactly("completed SUCCEEDED good");
        assertThat(memory.bodies("q_deadletter")).isEmpty();

        String confirmer = Thread.currentThread().getName();
        assertThat(faulty.releaseHeld()).isEqualTo(1);

        waitFor("acked once confirmed", () -> payloads("q").isEmpty() && p.health().inFlight() == 0 && p.health().deadLettered() == 1);
        assertThat(payloads("q_deadletter")).containsExactly("bad");
        waitFor("the listener and interceptor hear of it", () -> events.size() == 3);
        assertThat(events).containsExactly("completed SUCCEEDED good", "dead-lettered bad", "completed DEAD_LETTERED bad");
        assertThat(threads.subList(1, 3)).as("never on the thread that confirmed the copy, and inside the message's MDC")
                .allSatisfy(t -> assertThat(t).startsWith("resq-").doesNotStartWith(confirmer).endsWith(" in mdc"));
    }

    @Test
    void anotherKeysMessageIsHandledWhileARedeliveryCopyIsInFlight() throws Exception {
        send("q", "bad", "a");
        send("q", "good", "b");
        faulty.holdSends.add("q");
        List<String> handled = new CopyOnWriteArrayList<>();
        Processor<String> p = queues.processor("q", String.class).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .handler(s -> {
                    handled.add(s);
                    failOnBad(s);
                }).start();

        assertThat(Waits.until(Duration.ofSeconds(5), () -> p.health().succeeded() == 1))
                .as("the next message is handled while the redelivery copy is in flight").isTrue();
        assertThat(faulty.held).singleElement().satisfies(h -> assertThat(h.queue()).isEqualTo("q"));
        assertThat(payloads("q")).containsExactly("bad");
        assertThat(p.health().redelivered()).isZero();
        assertThat(events).containsExactly("completed SUCCEEDED good");

        faulty.releaseHeld();

        waitFor("redelivered, handled again, then dead-lettered", () -> p.health().deadLettered() == 1 && p.health().inFlight() == 0);
        assertThat(handled).containsExactly("bad", "good", "bad");
        assertThat(p.health().redelivered()).isEqualTo(1);
        assertThat(payloads("q")).isEmpty();
        assertThat(memory.messages("q_deadletter", String.class)).singleElement()
                .satisfies(m -> assertThat(m.errors()).hasSize(2));
        waitFor("every outcome heard", () -> events.size() == 5);
        // Each delivery's outcome is heard on a settle thread once its copy is confirmed, listener first; the
        // redelivered copy can be handled (and dead-lettered) before the first delivery's outcome is heard.
        assertThat(events).containsExactlyInAnyOrder("completed SUCCEEDED good", "redelivered bad", "completed REDELIVERED bad",
                "dead-lettered bad", "completed DEAD_LETTERED bad");
        assertThat(events.get(0)).isEqualTo("completed SUCCEEDED good");
        assertThat(events.indexOf("redelivered bad")).isLessThan(events.indexOf("completed REDELIVERED bad"));
        assertThat(events.indexOf("dead-lettered bad")).isLessThan(events.indexOf("completed DEAD_LETTERED bad"));
    }

    @Test
    void theSameKeysNextMessageWaitsForTheAckOnATransportThatOrdersByKey() throws Exception {
        faulty.holdSends.add("q_deadletter");
        List<String> handled = new CopyOnWriteArrayList<>();
        Processor<String> p = queues.processor("q", String.class).concurrency(2).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    handled.add(s);
                    failOnBad(s);
                }).start();
        send("q", "bad", "k");
        send("q", "next", "k");
        waitFor("the copy is held", () -> faulty.held.size() == 1);
        // The in-memory transport, like Kafka and SQS FIFO, hands out a key's next message only once the earlier one is acked.
        Thread.sleep(300);
        assertThat(handled).containsExactly("bad");

        faulty.releaseHeld();

        waitFor("the next message is handled after the ack", () -> p.health().succeeded() == 1 && p.health().inFlight() == 0);
        assertThat(handled).containsExactly("bad", "next");
        assertThat(payloads("q")).isEmpty();
        assertThat(payloads("q_deadletter")).containsExactly("bad");
    }

    @Test
    void anUndecodableBodysCopyIsInFlightWhileTheWorkerGoesOn() throws Exception {
        faulty.holdSends.add("q_deadletter");
        Processor<String> p = queues.processor("q", String.class).handler(CopyInFlightTest::failOnBad).start();
        memory.sender("q").send(new Outbound("raw-1", "a", Map.of(), "not json".getBytes(UTF_8), Duration.ZERO)).get(5, TimeUnit.SECONDS);
        waitFor("the copy is held", () -> faulty.held.size() == 1);
        send("q", "good", "b");

        assertThat(Waits.until(Duration.ofSeconds(5), () -> p.health().succeeded() == 1))
                .as("the next message is handled while the copy is in flight").isTrue();
        assertThat(memory.bodies("q")).as("the undecodable original is still unacked").hasSize(1);
        assertThat(p.health().inFlight()).isEqualTo(1);

        faulty.releaseHeld();

        waitFor("dead-lettered and acked", () -> memory.bodies("q").isEmpty() && p.health().inFlight() == 0 && p.health().deadLettered() == 1);
        Msg<byte[]> dead = memory.messages("q_deadletter", byte[].class).get(0);
        assertThat(dead.id()).isEqualTo("raw-1");
        assertThat(dead.errors()).extracting(Failure::statusCode).containsExactly(400);
    }

    @Test
    void aBatchLaneGoesOnWhileACopyOfItsLastBatchIsInFlight() throws Exception {
        faulty.holdSends.add("q_deadletter");
        List<String> handled = new CopyOnWriteArrayList<>();
        Processor<String> p = queues.processor("q", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .batchSize(1).batchWait(Duration.ofMillis(1))
                .batchHandler(batch -> {
                    for (Msg<String> m : batch.messages()) {
                        handled.add(m.payload());
                        if (m.payload().startsWith("bad")) {
                            batch.fail(m, new IllegalStateException("no " + m.payload()));
                        }
                    }
                }).start();
        send("q", "bad", "a");
        waitFor("the copy is held", () -> faulty.held.size() == 1);
        send("q", "good", "b");

        assertThat(Waits.until(Duration.ofSeconds(5), () -> p.health().succeeded() == 1))
                .as("the lane's next batch is handled while the copy is in flight").isTrue();
        assertThat(payloads("q")).containsExactly("bad");
        assertThat(events).containsExactly("completed SUCCEEDED good");

        faulty.releaseHeld();

        waitFor("dead-lettered and acked", () -> payloads("q").isEmpty() && p.health().inFlight() == 0);
        assertThat(payloads("q_deadletter")).containsExactly("bad");
        waitFor("heard", () -> events.size() == 3);
        assertThat(events).endsWith("completed DEAD_LETTERED bad");
    }

    // ------------------------------------------------------------------ bounds and refusals, as before

    @Test
    void copiesInFlightHoldTheirPrefetchSlotsSoTheProcessorFetchesNoFurther() throws Exception {
        faulty.holdSends.add("q_deadletter");
        Processor<String> p = queues.processor("q", String.class).prefetch(2).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(CopyInFlightTest::failOnBad).start();
        for (int i = 0; i < 5; i++) {
            send("q", "bad-" + i, "k" + i);
        }

        waitFor("two copies in flight at once", () -> faulty.held.size() == 2);
        Thread.sleep(300);
        assertThat(faulty.held).as("no more than the prefetch").hasSize(2);
        assertThat(p.health().inFlight()).isEqualTo(2);
        assertThat(payloads("q")).hasSize(5);

        faulty.releaseHeld();

        waitFor("every one dead-lettered and acked", () -> payloads("q_deadletter").size() == 5 && payloads("q").isEmpty());
        waitFor("nothing in flight", () -> p.health().inFlight() == 0);
    }

    @Test
    void aRefusedCopyStillGoesBackAfterABackOffWhileTheWorkerGoesOn() throws Exception {
        faulty.holdSends.add("q_deadletter");
        List<String> handled = new CopyOnWriteArrayList<>();
        List<Long> badCalls = new CopyOnWriteArrayList<>();
        Processor<String> p = queues.processor("q", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    handled.add(s);
                    if (s.startsWith("bad")) {
                        badCalls.add(System.nanoTime());
                    }
                    failOnBad(s);
                }).start();
        send("q", "bad", "a");
        waitFor("the copy is held", () -> faulty.held.size() == 1);
        send("q", "good", "b");
        assertThat(Waits.until(Duration.ofSeconds(5), () -> p.health().succeeded() == 1)).isTrue();

        faulty.holdSends.clear();
        AtomicLong refusedAt = new AtomicLong(System.nanoTime());
        faulty.refuseHeld(new IOException("broker down"));

        waitFor("the refusal is counted", () -> p.health().refusedCopies() == 1);
        assertThat(payloads("q")).as("released later, not at once").containsExactly("bad");
        assertThat(p.health().inFlight()).as("its slot is held through the back-off").isEqualTo(1);
        waitFor("handled again after the back-off, then dead-lettered", () -> payloads("q_deadletter").size() == 1);
        assertThat(badCalls).hasSize(2);
        assertThat(Duration.ofNanos(badCalls.get(1) - refusedAt.get())).as("the back-off").isGreaterThanOrEqualTo(Duration.ofMillis(900));
        waitFor("acked", () -> payloads("q").isEmpty() && p.health().inFlight() == 0);
        assertThat(handled).containsExactly("bad", "good", "bad");
        assertThat(events).containsExactly("completed SUCCEEDED good", "completed RELEASED bad", "dead-lettered bad",
                "completed DEAD_LETTERED bad");
    }

    // ------------------------------------------------------------------ close

    @Test
    void closeWaitsForACopyInFlightAndThenSettlesIt() throws Exception {
        faulty.holdSends.add("q_deadletter");
        Processor<String> p = queues.processor("q", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(CopyInFlightTest::failOnBad).start();
        send("q", "bad", "a");
        waitFor("the copy is held", () -> faulty.held.size() == 1);

        CompletableFuture<Void> closed = CompletableFuture.runAsync(p::close);
        Thread.sleep(300);
        assertThat(closed).as("close waits for the copy").isNotDone();
        faulty.releaseHeld();
        closed.get(10, TimeUnit.SECONDS);

        assertThat(payloads("q")).as("acked before the receiver closed").isEmpty();
        assertThat(payloads("q_deadletter")).containsExactly("bad");
        assertThat(events).containsExactly("dead-lettered bad", "completed DEAD_LETTERED bad");
    }

    @Test
    void closeReleasesTheOriginalOfACopyStillUnconfirmedAtTheDrainTimeout() throws Exception {
        faulty.holdSends.add("q_deadletter");
        Processor<String> p = queues.processor("q", String.class).drainTimeout(Duration.ofMillis(300))
                .retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(CopyInFlightTest::failOnBad).start();
        send("q", "bad", "a");
        waitFor("the copy is held", () -> faulty.held.size() == 1);

        CompletableFuture.runAsync(p::close).get(15, TimeUnit.SECONDS);
        assertThat(events).containsExactly("completed RELEASED bad");
        assertThat(p.health().inFlight()).isZero();

        // The copy may still land: then the message is there twice, never nowhere.
        faulty.releaseHeld();
        waitFor("the late copy lands", () -> payloads("q_deadletter").size() == 1);
        Thread.sleep(200);
        assertThat(payloads("q")).as("the original was released, not acked, and stays so").containsExactly("bad");
        queues.processor("q", String.class).handler(s -> { }).start();
        waitFor("the next processor handles the original", () -> payloads("q").isEmpty());
    }
}
