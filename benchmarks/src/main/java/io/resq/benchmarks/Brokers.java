package io.resq.benchmarks;

import com.rabbitmq.client.ConnectionFactory;
import io.resq.kafka.testing.EmbeddedKafka;
import java.net.URI;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Where the benchmarks find their brokers: an environment variable for each, or the local default.
 * One place, so that every benchmark reaches a broker the same way.
 *
 * <ul>
 *   <li>Redis: {@code RESQ_REDIS_URI}, or the local service on 127.0.0.1:6379;
 *   <li>RabbitMQ: {@code RESQ_RABBITMQ_URI}, or the local service on 127.0.0.1:5672 (guest);
 *   <li>PostgreSQL: {@code RESQ_POSTGRES_URL}, or the local cluster's database {@code test} on 127.0.0.1:5432;
 *   <li>Kafka: {@code RESQ_KAFKA_BOOTSTRAP}, or a KRaft broker started in this JVM ({@link Kafka});
 *   <li>SQS: {@code RESQ_SQS_ENDPOINT}, or ElasticMQ started in this JVM ({@link Sqs}).
 * </ul>
 *
 * {@code benchmarks/run} starts the local services a benchmark needs (with {@code .ci/services}, as
 * CI does) unless the variable points elsewhere. The brokers started in this JVM share its CPU and
 * heap, so the per-message cost the benchmarks print includes theirs.
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

    /** PostgreSQL: {@code RESQ_POSTGRES_URL}, or the local cluster's database {@code test} as user postgres. */
    static String postgresUrl() {
        String url = System.getenv("RESQ_POSTGRES_URL");
        return url == null || url.isBlank() ? "jdbc:postgresql://127.0.0.1:5432/test?user=postgres" : url;
    }

    /**
     * A broker at an address from the environment, or one started in this JVM and stopped on close
     * (its CPU and allocation then count in the process's figures, which {@link #toString} says).
     */
    abstract static class Started implements AutoCloseable {
        /** Stops the broker this JVM started; {@code null} for a broker elsewhere. */
        private final AutoCloseable embedded;
        private final String address;
        private final String inJvm;

        Started(AutoCloseable embedded, String address, String inJvm) {
            this.embedded = embedded;
            this.address = address;
            this.inJvm = inJvm;
        }

        String address() {
            return address;
        }

        @Override
        public String toString() {
            return address + (embedded != null ? " (" + inJvm + " in this JVM)" : "");
        }

        @Override
        public void close() {
            if (embedded == null) {
                return;
            }
            try {
                embedded.close();
            } catch (Exception e) {
                throw new IllegalStateException("stopping the " + inJvm + " failed", e);
            }
        }
    }

    /**
     * SQS at {@code RESQ_SQS_ENDPOINT}, or an in-memory ElasticMQ started in this JVM on a free port
     * of 127.0.0.1, as the SQS transport's tests run it; closing stops the embedded server.
     */
    static final class Sqs extends Started {
        private final URI endpoint;

        private Sqs(SQSRestServer embedded, URI endpoint) {
            super(embedded == null ? null : embedded::stopAndWait, endpoint.toString(), "ElasticMQ");
            this.endpoint = endpoint;
        }

        static Sqs start() {
            String external = System.getenv("RESQ_SQS_ENDPOINT");
            if (external != null && !external.isBlank()) {
                return new Sqs(null, URI.create(external));
            }
            // Port 0 and the port the server bound, so that no other process can take it in between.
            SQSRestServer server = SQSRestServerBuilder.withInterface("127.0.0.1").withDynamicPort().start();
            int port = server.waitUntilStarted().localAddress().getPort();
            return new Sqs(server, URI.create("http://127.0.0.1:" + port));
        }

        /** A new SDK client for the endpoint with the SDK's default HTTP client and static credentials (any work locally). */
        SqsClient client() {
            return SqsClient.builder()
                    .endpointOverride(endpoint)
                    .region(Region.US_EAST_1)
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
                    .build();
        }
    }

    /**
     * Kafka at {@code RESQ_KAFKA_BOOTSTRAP}, or a KRaft broker started in this JVM (the transport's
     * test classes); closing stops the embedded broker.
     */
    static final class Kafka extends Started {

        private Kafka(EmbeddedKafka embedded, String bootstrap) {
            super(embedded, bootstrap, "embedded broker");
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
            return address();
        }
    }
}
