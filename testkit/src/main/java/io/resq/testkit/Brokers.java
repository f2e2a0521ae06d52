package io.resq.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Where the test brokers are, and what happens when one is missing: the tests are skipped with a
 * message that says how to provide one, except under {@code CI=true}, where they fail, so a CI run
 * can never pass by skipping.
 */
public final class Brokers {

    /** Default RabbitMQ address of the tests; {@code RESQ_RABBITMQ_URI} overrides it. */
    public static final String DEFAULT_RABBITMQ_URI = "amqp://guest:guest@127.0.0.1:5672/%2F";
    /** Default Redis address of the tests; {@code RESQ_REDIS_URI} overrides it. */
    public static final String DEFAULT_REDIS_URI = "redis://127.0.0.1:6379";

    private Brokers() {
    }

    /** The RabbitMQ URI for tests: {@code RESQ_RABBITMQ_URI} or {@link #DEFAULT_RABBITMQ_URI}. */
    public static String rabbitMqUri() {
        return env("RESQ_RABBITMQ_URI", DEFAULT_RABBITMQ_URI);
    }

    /** The Redis URI for tests: {@code RESQ_REDIS_URI} or {@link #DEFAULT_REDIS_URI}. */
    public static String redisUri() {
        return env("RESQ_REDIS_URI", DEFAULT_REDIS_URI);
    }

    /** An external Kafka bootstrap address from {@code RESQ_KAFKA_BOOTSTRAP}, or {@code null} to start an embedded broker. */
    public static String kafkaBootstrap() {
        return System.getenv("RESQ_KAFKA_BOOTSTRAP");
    }

    /** An external SQS endpoint from {@code RESQ_SQS_ENDPOINT}, or {@code null} to start ElasticMQ in the test JVM. */
    public static String sqsEndpoint() {
        return System.getenv("RESQ_SQS_ENDPOINT");
    }

    /** True when running under CI ({@code CI=true}): a missing broker fails instead of skipping. */
    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /**
     * Checks that the host and port of {@code uri} accept a TCP connection; otherwise skips the
     * calling test (or fails it under CI) with a message naming the broker, the address and
     * {@code envVar}, the variable that points the tests elsewhere.
     */
    public static void requireReachable(String broker, String uri, String envVar) {
        URI parsed = URI.create(uri);
        int port = parsed.getPort();
        String host = parsed.getHost();
        String problem = null;
        if (host == null || port < 0) {
            problem = "cannot read host and port from " + envVar;
        } else {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), 2000);
            } catch (IOException e) {
                problem = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
        }
        if (problem == null) {
            return;
        }
        missing(broker + " is not reachable at " + host + ":" + port + " (" + problem + "). Start one there, or set "
                + envVar + " to one that runs.");
    }

    /**
     * Reports something a test needs and cannot have (a broker, a server binary, a control tool):
     * skips the calling test with {@code message}, or fails it under {@code CI=true}.
     */
    public static void missing(String message) {
        if (isCi()) {
            Assertions.fail(message + " CI=true: a missing broker fails the build instead of skipping.");
        }
        Assumptions.abort(message);
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
