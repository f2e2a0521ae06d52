package io.resq.kafka.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * The on-disk identity of a single-node KRaft broker (broker and controller in one): its ports,
 * its {@code server.properties} and its formatted log directory. The same node can be run in the
 * test JVM ({@link EmbeddedKafka}) or as a child JVM ({@link KafkaBrokerProcess}) and restarted
 * on the same ports and data.
 */
public final class KafkaNode {

    private final Path dir;
    private final int brokerPort;
    private final int controllerPort;
    private final Properties properties;
    private final Path propertiesFile;

    private KafkaNode(Path dir, int brokerPort, int controllerPort) {
        this.dir = dir;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
        this.properties = serverProperties();
        this.propertiesFile = dir.resolve("server.properties");
    }

    /** A new node in a fresh temp directory on two free ports, formatted and ready to start. */
    public static KafkaNode format() throws IOException {
        return format(freePort());
    }

    /** A new node whose clients connect on {@code brokerPort}, formatted and ready to start. */
    public static KafkaNode format(int brokerPort) throws IOException {
        Path dir = Files.createTempDirectory("resq-kafka-");
        KafkaNode node = new KafkaNode(dir, brokerPort, freePort());
        try (OutputStream out = Files.newOutputStream(node.propertiesFile)) {
            node.properties.store(out, "resq test broker");
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", node.propertiesFile.toString()},
                new PrintStream(log, true, StandardCharsets.UTF_8));
        if (rc != 0) {
            throw new IOException("formatting the Kafka log dir failed (" + rc + "): " + log.toString(StandardCharsets.UTF_8));
        }
        return node;
    }

    private Properties serverProperties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dir.resolve("logs").toString());
        p.put("num.partitions", "3");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        // Faster recovery after a kill: the controller notices the dead broker session sooner.
        p.put("broker.session.timeout.ms", "3000");
        p.put("broker.heartbeat.interval.ms", "500");
        return p;
    }

    /** The client address, {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + brokerPort;
    }

    /** A copy of the broker's properties. */
    public Properties properties() {
        Properties copy = new Properties();
        copy.putAll(properties);
        return copy;
    }

    Path propertiesFile() {
        return propertiesFile;
    }

    Path dir() {
        return dir;
    }

    /** Waits until the broker answers a describeCluster; throws after {@code timeout}. */
    public void awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2000))) {
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    last = e;
                }
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("Kafka at " + bootstrapServers() + " not ready after " + timeout, last);
    }

    /** Deletes the node's directory (best effort). */
    void deleteFiles() {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind is harmless
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}
