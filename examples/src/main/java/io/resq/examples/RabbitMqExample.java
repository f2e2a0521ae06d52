package io.resq.examples;

import com.rabbitmq.client.ConnectionFactory;
import io.resq.Queues;
import io.resq.rabbitmq.QueueType;
import io.resq.rabbitmq.RabbitMqTransport;

/**
 * Orders through RabbitMQ: a processor handles them, one order fails once and comes back a second
 * later through the vhost's shared delay queues ({@code resq.delay.*}) with its failure in the
 * history, and one that always fails ends in the queue {@code example_orders_deadletter}.
 *
 * <p>Run against the local RabbitMQ (or {@code RESQ_RABBITMQ_URI}):
 * {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.RabbitMqExample}
 */
public final class RabbitMqExample {

    private RabbitMqExample() {
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

        try (Queues queues = Queues.using(transport)) {
            BrokerTour.run(queues, "example_orders");
        }
    }
}
