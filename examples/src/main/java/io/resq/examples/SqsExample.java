package io.resq.examples;

import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.ProcessorHealth;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.sqs.SqsTransport;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Orders through Amazon SQS: a processor handles them, one order fails once and is redelivered a
 * second later (SQS {@code DelaySeconds}) with its failure in the history, and one that always
 * fails ends in the queue {@code example_orders_deadletter}.
 *
 * <p>Against a local ElasticMQ on port 9324 (start one with
 * {@code mvn -q -pl transport-sqs exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.resq.sqs.LocalElasticMq})
 * or the endpoint in {@code RESQ_SQS_ENDPOINT}:
 * {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.SqsExample}.
 * With the argument {@code aws} it uses the AWS SDK's default region and credentials instead.
 */
public final class SqsExample {

    private SqsExample() {
    }

    /** An order as the example's producer and handler see it. */
    public record Order(int id, String customer, long cents) {
    }

    /** Runs the example; exits when every order was handled or dead-lettered. */
    public static void main(String[] args) throws Exception {
        String queue = "example_orders";
        AtomicInteger flaky = new AtomicInteger();
        CountDownLatch settled = new CountDownLatch(5);

        // The application's own client: credentials, region and endpoint stay its business.
        try (SqsClient sqs = client(args.length > 0 && args[0].equals("aws"));
             Queues queues = Queues.using(SqsTransport.create(sqs))) {
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
                Msg<Order> sent = orders.send(Msg.builder(new Order(i, "customer-" + i, 1000L * i)).key("customer-" + i).build());
                System.out.println("sent order " + i + " as message " + sent.id());
                doomedId = sent.id();
            }

            settled.await(60, TimeUnit.SECONDS);
            Thread.sleep(2500); // let the failing order's second delivery reach the dead-letter queue
            processor.close();
            ProcessorHealth h = processor.health();
            System.out.printf("transport: %s; processor: %d succeeded, %d redelivered, %d dead-lettered%n",
                    queues.health().transport(), h.succeeded(), h.redelivered(), h.deadLettered());

            try (Dequeue<Order> dead = queues.dequeue(queue + "_deadletter", Order.class)) {
                // The queue keeps the dead letters of earlier runs too: look for this run's.
                for (Msg<Order> d = dead.messages().poll(10, TimeUnit.SECONDS); d != null; d = dead.messages().poll(2, TimeUnit.SECONDS)) {
                    if (d.id().equals(doomedId)) {
                        System.out.printf("dead letter: order %d (message %s, same id as sent), failures: %s%n",
                                d.payload().id(), d.id(), d.errors().stream().map(f -> f.statusCode() + " " + f.message()).toList());
                    }
                    dead.ack(d);
                }
            }
        }
    }

    private static SqsClient client(boolean realAws) {
        if (realAws) {
            return SqsClient.create();
        }
        String endpoint = System.getenv().getOrDefault("RESQ_SQS_ENDPOINT", "http://127.0.0.1:9324");
        return SqsClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_EAST_1)
                // ElasticMQ accepts any credentials; against AWS use the default chain (argument "aws").
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local")))
                .build();
    }
}
