package io.resq.benchmarks;

import com.rabbitmq.client.ConnectionFactory;
import io.resq.kafka.testing.EmbeddedKafka;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Where the transport benchmarks find their brokers: an environment variable for each, or the
 * local default (Redis and RabbitMQ on 127.0.0.1, ElasticMQ on 127.0.0.1:9324, Kafka embedded in
 * this JVM). One place, so that every benchmark reaches a broker the same way.
 */
final class Brokers {

    private Brokers() {
    }

    /** Redis: {@code RESQ_REDIS_URI}, or 127.0.0.1:6379. */
    static String redisUri() {
        return System.getenv().getOrDefault("RESQ_REDIS_URI", "redis://127.0.0.1:6379");
    }

    /** RabbitMQ: a connection factory for {@code RESQ_RABBITMQ_URI}, or guest on 127.0.0.1:5672. */
    static ConnectionFactory rabbitMq() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(System.getenv().getOrDefault("RESQ_RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2F"));
        return factory;
    }

    /** SQS: {@code RESQ_SQS_ENDPOINT}, or ElasticMQ on 127.0.0.1:9324 (started separately, see docs/benchmarks.md). */
    static URI sqsEndpoint() {
        return URI.create(System.getenv().getOrDefault("RESQ_SQS_ENDPOINT", "http://127.0.0.1:9324"));
    }

    /** An SDK client for {@link #sqsEndpoint()} with the SDK's default HTTP client and static credentials (any work locally). */
    static SqsClient sqsClient() {
        return SqsClient.builder()
                .endpointOverride(sqsEndpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                .build();
    }

    /**
     * Kafka at {@code RESQ_KAFKA_BOOTSTRAP}, or a KRaft broker started in this JVM (the transport's
     * test classes); closing stops the embedded broker.
     */
    static final class Kafka implements AutoCloseable {
        private final EmbeddedKafka embedded;
        private final String bootstrap;

        private Kafka(EmbeddedKafka embedded, String bootstrap) {
            this.embedded = embedded;
            this.bootstrap = bootstrap;
        }

        static Kafka start() throws Exception {
            String external = System.getenv("RESQ_KAFKA_BOOTSTRAP");
            if (external != null && !external.isBlank()) {
                return new Kafka(null, external);
            }
            EmbeddedKafka embedded = EmbeddedKafka.start();
            return new Kafka(embedded, embedded.bootstrapServers());
        }

        String bootstrap() {
            return bootstrap;
        }

        /** The bootstrap servers, and whether the broker runs in this JVM (its CPU then counts in the process's). */
        @Override
        public String toString() {
            return bootstrap + (embedded != null ? " (embedded broker in this JVM)" : "");
        }

        @Override
        public void close() {
            if (embedded != null) {
                embedded.close();
            }
        }
    }
}
