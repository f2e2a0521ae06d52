package io.resq.examples;

import io.resq.Queues;
import io.resq.kafka.KafkaTransport;
import java.util.Map;

/**
 * Orders through Kafka: a processor (in resq's default consumer group) handles them in
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

    /** Runs the example; exits when every order was handled or dead-lettered. */
    public static void main(String[] args) throws Exception {
        String bootstrap = System.getenv().getOrDefault("RESQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
        // Your existing client configuration goes here as it is (security, SASL, TLS, tuning).
        Map<String, Object> kafkaConfig = Map.of("bootstrap.servers", bootstrap, "linger.ms", 5);
        try (Queues queues = Queues.using(KafkaTransport.builder(kafkaConfig).topicPartitions(3).build())) {
            BrokerTour.run(queues, "example_orders");
        }
    }
}
