package io.resq.kafka.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A single-node KRaft broker in a child JVM ({@code java -cp <this JVM's class path> kafka.Kafka
 * server.properties}), so a fault test can kill it for real (SIGKILL) and restart it on the same
 * ports and data. Not thread-safe: one test drives it.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    private final KafkaNode node;
    private Process process;
    private int starts;

    private KafkaBrokerProcess(KafkaNode node) {
        this.node = node;
    }

    /** Formats a fresh node and starts it in a child JVM; returns once it answers. */
    public static KafkaBrokerProcess start() throws Exception {
        KafkaBrokerProcess broker = new KafkaBrokerProcess(KafkaNode.format());
        broker.startProcess();
        return broker;
    }

    /** The client address; it stays the same across restarts. */
    public String bootstrapServers() {
        return node.bootstrapServers();
    }

    /** Kills the broker without warning (SIGKILL) and waits until it is gone. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Starts the broker again on the same ports and data; returns once it answers. */
    public void restart() throws Exception {
        kill();
        startProcess();
    }

    private void startProcess() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), "kafka.Kafka", node.propertiesFile().toString()));
        File log = node.dir().resolve("broker-" + (++starts) + ".log").toFile();
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        try {
            node.awaitReady(Duration.ofSeconds(90));
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IOException("child Kafka broker did not start; see " + log, e);
        }
    }

    /** Kills the broker and deletes its data. */
    @Override
    public void close() {
        try {
            kill();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        node.deleteFiles();
    }
}
