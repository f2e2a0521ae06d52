package io.resq.kafka.testing;

import java.time.Duration;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node KRaft broker running inside the test JVM, from Kafka's own server classes.
 * About two seconds to start (format included). Use {@link TestKafka} to share one per JVM.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private final KafkaNode node;
    private final KafkaRaftServer server;

    private EmbeddedKafka(KafkaNode node, KafkaRaftServer server) {
        this.node = node;
        this.server = server;
    }

    /** Formats a fresh node on free ports, starts it and waits until it answers. */
    public static EmbeddedKafka start() throws Exception {
        return start(KafkaNode.format());
    }

    /**
     * Runs a broker for the examples and benchmarks until the JVM is stopped: args [port, default 9092].
     * {@code mvn -q -pl transport-kafka exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.resq.kafka.testing.EmbeddedKafka}
     */
    public static void main(String[] args) throws Exception {
        EmbeddedKafka kafka = start(KafkaNode.format(args.length > 0 ? Integer.parseInt(args[0]) : 9092));
        Runtime.getRuntime().addShutdownHook(new Thread(kafka::close));
        System.out.println("Kafka running at " + kafka.bootstrapServers() + "; stop with Ctrl-C");
        Thread.sleep(Long.MAX_VALUE);
    }

    private static EmbeddedKafka start(KafkaNode node) throws Exception {
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(node.properties()), Time.SYSTEM);
        server.startup();
        EmbeddedKafka kafka = new EmbeddedKafka(node, server);
        try {
            node.awaitReady(Duration.ofSeconds(60));
        } catch (Exception e) {
            kafka.close();
            throw e;
        }
        return kafka;
    }

    /** The client address. */
    public String bootstrapServers() {
        return node.bootstrapServers();
    }

    /** The broker's log directory: one folder per partition, {@code <topic>-<partition>}, holding its segment files. */
    public java.nio.file.Path logDir() {
        return node.dir().resolve("logs");
    }

    /** Stops the broker and deletes its data. */
    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
        node.deleteFiles();
    }
}
