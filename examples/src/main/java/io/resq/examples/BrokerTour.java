package io.resq.examples;

import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorHealth;
import io.resq.Queues;
import io.resq.RetryPolicy;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The walk through that every broker example takes once its transport is built: a processor
 * handles four orders; order 3 fails once and is redelivered a second later through the broker
 * with its failure in the history; order 4 always fails and ends in {@code <queue>_deadletter},
 * which is then read back. Only the transport differs between brokers.
 */
final class BrokerTour {

    /** An order as the examples' producer and handler see it. */
    record TourOrder(int id, String customer, long cents) {
    }

    private BrokerTour() {
    }

    /** Runs the walk through on {@code queues}, using {@code queue} and its dead-letter queue. */
    static void run(Queues queues, String queue) throws InterruptedException {
        AtomicInteger flaky = new AtomicInteger();
        CountDownLatch settled = new CountDownLatch(5);
        Processor<TourOrder> processor = queues.processor(queue, TourOrder.class)
                .group("broker-tour") // on Kafka and Redis the group is required: applications in one group share messages
                .concurrency(4)
                .retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                .msgHandler(m -> {
                    TourOrder order = m.payload();
                    if (order.id() == 3 && flaky.getAndIncrement() == 0) {
                        throw new IllegalStateException("payment service timed out");
                    }
                    if (order.id() == 4) {
                        settled.countDown();
                        throw new IllegalArgumentException("customer " + order.customer() + " is unknown");
                    }
                    System.out.printf("charged order %d of %s: %d cents (attempt %d, earlier failures: %d)%n",
                            order.id(), order.customer(), order.cents(), m.attempt(), m.errors().size());
                    settled.countDown();
                })
                .start();

        Enqueue<TourOrder> orders = queues.enqueue(queue, TourOrder.class);
        String doomedId = null;
        for (int i = 1; i <= 4; i++) {
            TourOrder order = new TourOrder(i, "customer-" + i, 1000L * i);
            // send() returns once the broker confirmed the message, and throws SendException otherwise.
            Msg<TourOrder> sent = orders.send(Msg.builder(order).key(order.customer()).category("OrderPlaced").build());
            System.out.println("sent order " + i + " as message " + sent.id());
            doomedId = order.id() == 4 ? sent.id() : doomedId;
        }

        if (!settled.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("orders not settled within 60 s; is the broker running? " + queues.health().transport());
        }
        Thread.sleep(2500); // the failing order's second delivery is due a second after its first
        processor.close();
        ProcessorHealth h = processor.health();
        System.out.printf("transport: %s; processor: %d succeeded, %d redelivered, %d dead-lettered%n",
                queues.health().transport(), h.succeeded(), h.redelivered(), h.deadLettered());

        try (Dequeue<TourOrder> dead = queues.dequeue(queue + "_deadletter", TourOrder.class, "example-dlq-reader")) {
            // The dead-letter queue keeps the dead letters of earlier runs too: show this run's.
            for (Msg<TourOrder> d = dead.messages().poll(10, TimeUnit.SECONDS); d != null; d = dead.messages().poll(2, TimeUnit.SECONDS)) {
                if (d.id().equals(doomedId)) {
                    System.out.printf("dead letter: order %d (message %s, same id as sent), failures: %s%n",
                            d.payload().id(), d.id(), d.errors().stream().map(f -> f.statusCode() + " " + f.message()).toList());
                }
                dead.ack(d);
            }
        }
    }
}
