package io.resq.kafka.testing;

import io.resq.testkit.Brokers;
import org.junit.jupiter.api.Assertions;

/**
 * The Kafka the tests of a JVM share: {@code RESQ_KAFKA_BOOTSTRAP} when set, otherwise one
 * {@link EmbeddedKafka} started on first use and stopped when the JVM exits. Following the
 * testkit's rule, an external broker that does not answer skips the calling test with an
 * explanation (and fails it under {@code CI=true}); the embedded broker failing to start always fails.
 */
public final class TestKafka {

    private static EmbeddedKafka embedded;
    private static Exception startFailure;

    private TestKafka() {
    }

    /** The bootstrap servers of the shared test broker. */
    public static synchronized String bootstrapServers() {
        String external = Brokers.kafkaBootstrap();
        if (external != null && !external.isBlank()) {
            Brokers.requireReachable("Kafka", "kafka://" + external.split(",")[0].trim(), "RESQ_KAFKA_BOOTSTRAP");
            return external;
        }
        if (embedded == null && startFailure == null) {
            try {
                embedded = EmbeddedKafka.start();
                EmbeddedKafka started = embedded;
                Runtime.getRuntime().addShutdownHook(new Thread(started::close, "resq-test-kafka-stop"));
            } catch (Exception e) {
                startFailure = e;
            }
        }
        if (startFailure != null) {
            // The embedded broker comes with the test class path, so failing to start it is a bug
            // to see, never a reason to skip.
            Assertions.fail("The embedded Kafka broker did not start (" + startFailure
                    + "). Fix it, or set RESQ_KAFKA_BOOTSTRAP to a broker that runs.", startFailure);
        }
        return embedded.bootstrapServers();
    }

    /**
     * The log directory of the embedded broker, for tests that damage a segment on disk; fails the
     * calling test when the tests run against an external broker, whose files are out of reach.
     */
    public static synchronized java.nio.file.Path embeddedLogDir() {
        bootstrapServers();
        Assertions.assertNotNull(embedded, "this test damages the broker's files and needs the embedded broker; unset RESQ_KAFKA_BOOTSTRAP");
        return embedded.logDir();
    }
}
