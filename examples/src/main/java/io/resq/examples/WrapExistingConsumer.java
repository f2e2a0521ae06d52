package io.resq.examples;

import io.resq.EnvelopeMode;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Moving an existing consumer onto resq without touching its producers. The team has a
 * {@code Consumer<Order>} that a hand-written loop calls:
 *
 * <pre>{@code
 * while (running) {
 *     for (Record r : client.poll(timeout)) {
 *         shippingLabels.accept(parse(r.body()));   // an exception here: log it? skip it? crash?
 *     }
 *     client.commit();
 * }
 * }</pre>
 *
 * Other services write bare JSON to the queue, so the envelope format is not an option. In
 * {@link EnvelopeMode#RAW} resq reads and writes the bare payload and keeps its own metadata in
 * broker headers; a message without those headers is simply a first delivery. The callback is
 * handed to a processor as it is, and gains retries, redelivery, a dead-letter queue for what it
 * cannot handle, and a clean shutdown.
 */
public final class WrapExistingConsumer {

    private static final long WAIT_SECONDS = 10;

    private WrapExistingConsumer() {
    }

    /** Runs the example, printing to standard output. */
    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs the example, printing to {@code out}; throws if something did not happen as described. */
    static void run(PrintStream out) throws Exception {
        Consumer<Order> existing = new ShippingLabels(out); // the team's callback, unchanged

        InMemoryTransport transport = InMemoryTransport.create(); // with a broker: KafkaTransport.create(config) etc.
        try (Queues queues = Queues.builder(transport)
                .envelopeMode(EnvelopeMode.RAW) // bodies stay bare JSON, as the other producers write them
                .listener(new PrintingListener(out))
                .build()) {
            out.println("Wrapping an existing Consumer<Order> in a resq processor, RAW mode");

            // Another service, which knows nothing about resq, writes bare JSON with no resq headers.
            Sender foreignProducer = transport.sender("shipments");
            foreignProducer.send(Outbound.of("legacy-101", json("{\"id\":101,\"customer\":\"alice\",\"amount\":25.00}"))).get();
            foreignProducer.send(Outbound.of("legacy-102", json("{\"id\":102,\"customer\":\"bob\",\"amount\":250.00}"))).get();
            foreignProducer.send(Outbound.of("legacy-103", json("{\"id\":103,\"customer\":"))).get(); // truncated by a bug over there
            out.println("   a foreign producer wrote 3 bare JSON bodies (one of them broken)");

            // resq's own sends look the same on the wire in RAW mode, so other consumers of the queue can still read them.
            queues.enqueue("shipments", Order.class).send(new Order(104, "carol", new BigDecimal("9.90")));
            out.println("   resq sent order 104; the queue now holds: " + bodies(transport, "shipments"));

            Processor<Order> processor = queues.processor("shipments", Order.class)
                    .group("shipping")
                    .retry(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(3))
                    .redelivery(RetryPolicy.exponential(Duration.ofMillis(200), 2.0).maxAttempts(3))
                    .handler(existing::accept) // the whole migration of the callback is this line
                    .start();

            waitFor(processor);

            // The broken body was not retried (it can never decode): it went to the dead-letter queue at once, kept
            // byte for byte, with a 400 failure in resq's headers.
            for (Msg<byte[]> dead : transport.messages("shipments_deadletter", byte[].class)) {
                out.printf("   dead letter %s: body kept as sent: %s%n", dead.id(), new String(dead.payload(), StandardCharsets.UTF_8));
                out.printf("     status %d: %s%n", dead.errors().get(0).statusCode(), dead.errors().get(0).message());
            }
        }
        out.println("done: queues closed");
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> bodies(InMemoryTransport transport, String queue) {
        return transport.bodies(queue).stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList();
    }

    private static void waitFor(Processor<Order> processor) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (processor.health().succeeded() < 3 || processor.health().deadLettered() < 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not done within " + WAIT_SECONDS + " s: " + processor.health());
            }
            Thread.sleep(10);
        }
    }
}
