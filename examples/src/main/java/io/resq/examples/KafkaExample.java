package io.resq.examples;

import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorHealth;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.kafka.KafkaTransport;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Orders through Kafka: a processor in the consumer group {@code billing} handles them in
 * parallel while keeping each customer's orders in order (the key is the Kafka record key); one
 * order fails once and comes back a second later through {@code <topic>_retry} with its failure
 * in the history; one that always fails ends in the topic {@code <topic>_deadletter}.
 *
 * <p>Run against a broker at {@code RESQ_KAFKA_BOOTSTRAP} (default 127.0.0.1:9092). Without one,
 * start the test broker in another terminal:
 * {@code mvn -q -pl transport-kafka exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.resq.kafka.testing.EmbeddedKafka},
 * then {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.KafkaExample}.
 */
public final class KafkaExample {

    private KafkaExample() {
    }

    /** An order as the example's producer and handler see it. */
    public record Order(int id, String customer, long cents) {
    }

    /** Runs the example; exits when every order was handled or dead-lettered. */
    public static void main(String[] args) throws Exception {
        String bootstrap = System.getenv().getOrDefault("RESQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
        // Your existing client configuration goes here as it is (security, SASL, TLS, tuning).
        Map<String, Object> kafkaConfig = Map.of("bootstrap.servers", bootstrap, "linger.ms", 5);
        String topic = "example_orders_" + UUID.randomUUID().toString().substring(0, 8);
        AtomicInteger flaky = new AtomicInteger();
        CountDownLatch settled = new CountDownLatch(6);

        try (Queues queues = Queues.using(KafkaTransport.builder(kafkaConfig).topicPartitions(3).build())) {
            Processor<Order> processor = queues.processor(topic, Order.class)
                    .group("billing")
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

            Enqueue<Order> orders = queues.enqueue(topic, Order.class);
            String[] customers = {"ada", "grace", "ada", "linus", "grace"};
            for (int i = 0; i < customers.length; i++) {
                Order order = new Order(i + 1, customers[i], 1000L * (i + 1));
                // send() returns once the broker acknowledged the record (acks=all by default).
                orders.send(Msg.builder(order).key(order.customer()).category("OrderPlaced").build());
            }

            if (!settled.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("orders not settled in time; is Kafka running at " + bootstrap + "?");
            }
            try (Dequeue<Order> dead = queues.dequeue(topic + "_deadletter", Order.class, "example-dlq-reader")) {
                Msg<Order> m = dead.messages().poll(30, TimeUnit.SECONDS);
                if (m != null) {
                    System.out.printf("dead letter: order %d after %d failures, last: %s%n",
                            m.payload().id(), m.errors().size(), m.errors().get(m.errors().size() - 1).message());
                    dead.ack(m);
                }
            }
            ProcessorHealth health = processor.health();
            System.out.printf("processor: %d succeeded, %d redelivered, %d dead-lettered; transport: %s%n",
                    health.succeeded(), health.redelivered(), health.deadLettered(), queues.health().transport().detail());
        }
    }
}
