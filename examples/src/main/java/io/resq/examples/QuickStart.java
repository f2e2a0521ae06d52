package io.resq.examples;

import static io.resq.examples.ScriptedGateway.Outcome.DECLINED;
import static io.resq.examples.ScriptedGateway.Outcome.DOWN;
import static io.resq.examples.ScriptedGateway.Outcome.HANGS;

import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Failure;
import io.resq.HealthReport;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorHealth;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.SendException;
import io.resq.Undelivered;
import io.resq.memory.InMemoryTransport;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The quick start: resq on the in-memory transport, so no broker is needed. Run it with
 * {@code mvn -q install -DskipTests && mvn -q -pl examples exec:java}. It prints what happens in
 * three steps:
 *
 * <ol>
 *   <li>sending with an {@link Enqueue}, receiving with a {@link Dequeue}, failing one message
 *       by hand (it comes back) and acking it;</li>
 *   <li>a {@link Processor} charging four orders: one succeeds, one succeeds on an in-process
 *       retry, one on a redelivery through the broker, and one ends in the dead-letter queue,
 *       whose error history is printed;</li>
 *   <li>a send the broker refuses, landing in {@link Enqueue#deadLetters()}.</li>
 * </ol>
 *
 * Every delay is a few milliseconds, so the whole run takes a few seconds. With a real broker only
 * the transport line changes (see the README's transports table).
 */
public final class QuickStart {

    private static final long WAIT_SECONDS = 10;

    private QuickStart() {
    }

    /** Runs the quick start, printing to standard output. */
    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs the quick start, printing to {@code out}; throws if something did not happen as described. */
    static void run(PrintStream out) throws Exception {
        InMemoryTransport transport = InMemoryTransport.create();
        // One Queues per application. The listener prints events for this demo (the default logs through SLF4J);
        // the redelivery policy applies to messages failed through a Dequeue.
        try (Queues queues = Queues.builder(transport)
                .listener(new PrintingListener(out))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(200)).maxAttempts(3))
                .build()) {
            out.println("resq quick start, on the in-memory transport (no broker)");
            sendAndReceive(queues, out);
            processOrders(queues, out);
            failedSend(queues, transport, out);
            out.println();
            printHealth(queues, out);
        } // close(): processors drain, dequeues and enqueues stop, the transport closes
        out.println("done: queues closed");
    }

    /** Step 1: Enqueue and Dequeue as channels; a message failed by hand comes back with its history. */
    private static void sendAndReceive(Queues queues, PrintStream out) throws InterruptedException {
        out.println();
        out.println("1. Send, receive and ack through Enqueue and Dequeue");
        Enqueue<Order> sender = queues.enqueue("inbox", Order.class);
        Dequeue<Order> receiver = queues.dequeue("inbox", Order.class);

        Msg<Order> sent = sender.send(new Order(1, "alice", new BigDecimal("19.99"))); // returns once the broker confirmed
        out.println("   sent order 1 as message " + sent.id());

        Msg<Order> first = take(receiver);
        out.printf("   received order %d, delivery %d -> failing it by hand%n", first.payload().id(), first.attempt());
        receiver.acks().put(first.failed(new IllegalStateException("warehouse not ready")));

        Msg<Order> again = take(receiver);
        out.printf("   received order %d again, delivery %d, same id: %b, history: %s -> acking it%n",
                again.payload().id(), again.attempt(), again.id().equals(sent.id()), PrintingListener.brief(again.errors().get(0)));
        receiver.acks().put(again);
    }

    /** Step 2: a processor with retry, redelivery and a timeout, and the dead letter it produces. */
    private static void processOrders(Queues queues, PrintStream out) throws InterruptedException {
        out.println();
        out.println("2. A processor: success, in-process retry, redelivery, dead letter");
        ScriptedGateway gateway = new ScriptedGateway()
                .script("bob", DOWN)                                         // one glitch: the in-process retry covers it
                .script("carol", DOWN, DOWN)                                 // both calls of delivery 1 fail: redelivered
                .script("dave", DOWN, DOWN, HANGS, HANGS, DECLINED, DECLINED); // every delivery fails: dead letter

        // 2 calls per delivery x 3 deliveries: dave's order is tried 6 times before it is dead-lettered.
        Processor<Order> processor = queues.processor("orders", Order.class)
                .group("billing") // required on Kafka and Redis Streams; ignored by the in-memory transport
                .retry(RetryPolicy.fixed(Duration.ofMillis(50)).maxAttempts(2))
                .redelivery(RetryPolicy.exponential(Duration.ofMillis(100), 2.0).maxAttempts(3))
                .timeout(Duration.ofMillis(300))
                .concurrency(4)
                .handler(new ChargeOrder(gateway))
                .start();

        Enqueue<Order> orders = queues.enqueue("orders", Order.class);
        orders.send(new Order(1, "alice", new BigDecimal("19.99")));
        orders.send(new Order(2, "bob", new BigDecimal("5.00")));
        orders.send(new Order(3, "carol", new BigDecimal("42.00")));
        orders.send(new Order(4, "dave", new BigDecimal("7.50")));

        waitFor("3 orders handled and 1 dead-lettered",
                () -> processor.health().succeeded() == 3 && processor.health().deadLettered() == 1);

        // A dead-letter queue is a queue like any other: read it to alert, inspect, or redrive once the cause is fixed.
        try (Dequeue<Order> deadLetters = queues.dequeue("orders_deadletter", Order.class)) {
            Msg<Order> dead = take(deadLetters);
            out.printf("   dead letter: order %d (message %s, same id as sent), %d failures in its history:%n",
                    dead.payload().id(), dead.id(), dead.errors().size());
            for (Failure f : dead.errors()) {
                out.printf("     %s  status %d  %s: %s%n", f.date(), f.statusCode(), f.type(), f.message());
            }
            deadLetters.ack(dead);
        }
    }

    /** Step 3: the broker refuses sends; the best-effort channel reports the message instead of dropping it. */
    private static void failedSend(Queues queues, InMemoryTransport transport, PrintStream out) throws InterruptedException {
        out.println();
        out.println("3. A send the broker refuses lands in Enqueue.deadLetters()");
        transport.failSends("payments", new IOException("connection refused")); // a broker outage, simulated
        Enqueue<Order> payments = queues.enqueue("payments", Order.class);

        payments.messages().put(new Order(5, "erin", new BigDecimal("12.00"))); // best effort: sent in the background, with retry
        Undelivered<Order> undelivered = payments.deadLetters().poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (undelivered == null) {
            throw new IllegalStateException("order 5 should have landed in deadLetters()");
        }
        out.printf("   deadLetters() holds order %d with %d failed attempts; the application decides what to do with it%n",
                undelivered.message().payload().id(), undelivered.failures().size());

        try {
            payments.send(new Order(6, "frank", new BigDecimal("3.00"))); // synchronous: throws instead
            throw new IllegalStateException("send() should have failed");
        } catch (SendException e) {
            out.println("   send() of order 6 threw SendException: " + e.getMessage());
        }
    }

    /** What {@code queues.health()} reports: the transport, then each processor's circuit and counters. */
    private static void printHealth(Queues queues, PrintStream out) {
        HealthReport health = queues.health();
        out.printf("health: transport %s (%s)%n", health.transport().status(), health.transport().detail());
        for (ProcessorHealth p : health.processors()) {
            out.printf("        processor of %s: circuit %s, %d in flight, %d succeeded, %d retries, %d redelivered, %d dead-lettered%n",
                    p.queue(), p.circuitState(), p.inFlight(), p.succeeded(), p.retried(), p.redelivered(), p.deadLettered());
        }
    }

    private static <T> Msg<T> take(Dequeue<T> dequeue) throws InterruptedException {
        Msg<T> msg = dequeue.messages().poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (msg == null) {
            throw new IllegalStateException("nothing arrived in " + dequeue.queue() + " within " + WAIT_SECONDS + " s");
        }
        return msg;
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not done within " + WAIT_SECONDS + " s: " + what);
            }
            Thread.sleep(10);
        }
    }
}
