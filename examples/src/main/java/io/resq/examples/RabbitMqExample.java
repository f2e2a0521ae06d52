package io.resq.examples;

import com.rabbitmq.client.ConnectionFactory;
import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorHealth;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.rabbitmq.QueueType;
import io.resq.rabbitmq.RabbitMqTransport;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Orders through RabbitMQ: a processor handles them, one order fails once and comes back a second
 * later through the delay queue {@code example_orders_delay_1000ms} with its failure in the
 * history, and one that always fails ends in the queue {@code example_orders_deadletter}.
 *
 * <p>Run against the local RabbitMQ (or {@code RESQ_RABBITMQ_URI}):
 * {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.RabbitMqExample}
 */
public final class RabbitMqExample {

    private RabbitMqExample() {
    }

    /** An order as the example's producer and handler see it. */
    public record Order(int id, String customer, long cents) {
    }

    /** Runs the example; exits when every order was handled or dead-lettered. */
    public static void main(String[] args) throws Exception {
        // The ConnectionFactory an application already has; the transport works on a copy of it.
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(System.getenv().getOrDefault("RESQ_RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2F"));
        RabbitMqTransport transport = RabbitMqTransport.builder(factory)
                .queueType(QueueType.QUORUM)   // the default, shown for clarity
                .connectionName("resq-example")
                .build();

        String queue = "example_orders";
        AtomicInteger flaky = new AtomicInteger();
        CountDownLatch settled = new CountDownLatch(5);
        try (Queues queues = Queues.using(transport)) {
            Processor<Order> processor = queues.processor(queue, Order.class)
                    .concurrency(4)
                    .retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                    .msgHandler(m -> {
                        Order order = m.payload();
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

            Enqueue<Order> orders = queues.enqueue(queue, Order.class);
            String doomedId = null;
            for (int i = 1; i <= 4; i++) {
                // send() returns once RabbitMQ confirmed the (persistent) message.
                Msg<Order> sent = orders.send(Msg.builder(new Order(i, "customer-" + i, 1000L * i)).key("customer-" + i).build());
                System.out.println("sent order " + i + " as message " + sent.id());
                doomedId = sent.id();
            }

            settled.await(30, TimeUnit.SECONDS);
            Thread.sleep(1500); // let the failing order's second delivery reach the dead-letter queue
            processor.close();
            ProcessorHealth h = processor.health();
            System.out.printf("transport: %s; processor: %d succeeded, %d redelivered, %d dead-lettered%n",
                    queues.health().transport(), h.succeeded(), h.redelivered(), h.deadLettered());

            try (Dequeue<Order> dead = queues.dequeue(queue + "_deadletter", Order.class)) {
                // The queue may hold dead letters of earlier runs too: take them all, show this run's.
                for (Msg<Order> d = dead.messages().poll(10, TimeUnit.SECONDS); d != null; d = dead.messages().poll(1, TimeUnit.SECONDS)) {
                    if (d.id().equals(doomedId)) {
                        System.out.printf("dead letter: order %d (message %s, same id as sent), failures: %s%n",
                                d.payload().id(), d.id(), d.errors().stream().map(f -> f.statusCode() + " " + f.message()).toList());
                    }
                    dead.ack(d);
                }
            }
        }
    }
}
