package io.resq.rabbitmq;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.resq.testkit.Brokers;
import java.io.IOException;
import java.io.InputStream;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The test broker: {@code RESQ_RABBITMQ_URI} or the local RabbitMQ, skipped when missing (failing
 * under {@code CI=true}, see {@link Brokers}). Also an admin side door for tests: raw publishing,
 * queue deletion, and cutting every client connection through {@code rabbitmqctl}.
 */
final class RabbitBroker {

    private RabbitBroker() {
    }

    /** Skips (or under CI fails) the calling test when no broker answers. */
    static void require() {
        Brokers.requireReachable("RabbitMQ", Brokers.rabbitMqUri(), "RESQ_RABBITMQ_URI");
    }

    static String uri() {
        return Brokers.rabbitMqUri();
    }

    static ConnectionFactory factory() {
        ConnectionFactory f = new ConnectionFactory();
        try {
            f.setUri(uri());
        } catch (Exception e) {
            throw new IllegalStateException("RESQ_RABBITMQ_URI is not an AMQP URI", e);
        }
        // The fault tests cut connections; recover quickly.
        f.setNetworkRecoveryInterval(1000);
        return f;
    }

    /** A plain client connection, for what a foreign producer or an operator would do. */
    static Connection adminConnection() throws Exception {
        ConnectionFactory f = factory();
        f.setAutomaticRecoveryEnabled(false);
        return f.newConnection("resq-test-admin");
    }

    /** Deletes the queues (missing ones are fine). */
    static void deleteQueues(Collection<String> queues) {
        if (queues.isEmpty()) {
            return;
        }
        try (Connection c = adminConnection()) {
            for (String q : queues) {
                try (Channel ch = c.createChannel()) {
                    ch.queueDelete(q);
                } catch (IOException | RuntimeException e) {
                    // already gone
                }
            }
        } catch (Exception e) {
            // cleanup is best effort; the names are unique per run
        }
    }

    /**
     * Restarts the RabbitMQ application on the local node ({@code rabbitmqctl stop_app} then
     * {@code start_app}): every connection drops and the queues come back from disk.
     */
    static void restartApp() throws Exception {
        try {
            rabbitmqctl("stop_app");
            Thread.sleep(1000);
        } finally {
            rabbitmqctl("start_app");
            rabbitmqctl("await_startup");
        }
    }

    /**
     * Cuts the client connections whose client-provided name starts with {@code namePrefix}, as a
     * crash of that one client would; returns how many were closed.
     */
    static int closeConnectionsNamed(String namePrefix) throws Exception {
        String listing = rabbitmqctl("-q", "list_connections", "pid", "client_properties");
        int closed = 0;
        for (String line : listing.split("\n")) {
            if (line.contains("{\"connection_name\",\"" + namePrefix)) {
                rabbitmqctl("close_connection", line.substring(0, line.indexOf('\t')).trim(), "resq fault test: consumer dies");
                closed++;
            }
        }
        return closed;
    }

    /** Sets a policy on the default vhost for the queues matching {@code pattern} (a regex), as an operator would. */
    static void setPolicy(String name, String pattern, String definitionJson) throws Exception {
        rabbitmqctl("set_policy", "--apply-to", "queues", "--priority", "100", name, pattern, definitionJson);
    }

    static void clearPolicy(String name) {
        try {
            rabbitmqctl("clear_policy", name);
        } catch (Exception e) {
            // best effort: the names are unique per run
        }
    }

    /** The names of the queues of the default vhost. */
    static List<String> queueNames() throws Exception {
        List<String> names = new java.util.ArrayList<>();
        for (String line : rabbitmqctl("-q", "list_queues", "name").split("\n")) {
            if (!line.isBlank() && !line.equals("name")) {
                names.add(line.trim());
            }
        }
        return names;
    }

    /** The arguments of {@code queue} as rabbitmqctl prints them. */
    static String queueArguments(String queue) throws Exception {
        for (String line : rabbitmqctl("-q", "list_queues", "name", "arguments").split("\n")) {
            if (line.startsWith(queue + "\t")) {
                return line.substring(queue.length() + 1);
            }
        }
        throw new IllegalStateException("no queue '" + queue + "' on the broker");
    }

    /** The next delivery of {@code r}, waiting up to 15 s for it. */
    static io.resq.spi.Delivery pollOne(io.resq.spi.Receiver r) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            List<io.resq.spi.Delivery> got = r.poll(1, java.time.Duration.ofMillis(100));
            if (!got.isEmpty()) {
                return got.get(0);
            }
        }
        throw new AssertionError("no delivery within 15 s");
    }

    /** Sends one small message with id {@code id} to {@code queue} and waits for the broker's confirm. */
    static void sendOne(RabbitMqTransport transport, String queue, String id) throws Exception {
        transport.sender(queue).send(List.of(new io.resq.spi.Outbound(id, null, java.util.Map.of(), new byte[] {1},
                java.time.Duration.ZERO))).get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** The prefetch counts of the consumers of {@code queue}, as rabbitmqctl lists them. */
    static List<Integer> consumerPrefetches(String queue) throws Exception {
        List<Integer> out = new java.util.ArrayList<>();
        for (String line : rabbitmqctl("-q", "list_consumers", "queue_name", "prefetch_count").split("\n")) {
            String[] cols = line.trim().split("\t");
            if (cols.length == 2 && cols[0].equals(queue)) {
                out.add(Integer.parseInt(cols[1].trim()));
            }
        }
        return out;
    }

    /** How many consumers {@code queue} has, as the broker counts them. */
    static int consumerCount(String queue) throws Exception {
        try (Connection c = adminConnection(); Channel ch = c.createChannel()) {
            return ch.queueDeclarePassive(queue).getConsumerCount();
        }
    }

    private static String rabbitmqctl(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>();
        command.add("rabbitmqctl");
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("rabbitmqctl " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    /**
     * Skips the calling test (or fails it under {@code CI=true}) when {@code rabbitmqctl} cannot
     * control the broker, which the fault tests need to cut connections for real.
     */
    static void requireControl() {
        require();
        if (!canControlBroker()) {
            Brokers.missing("rabbitmqctl cannot reach the RabbitMQ node on this machine; the fault tests cut connections "
                    + "with it. Run them on the machine of the broker.");
        }
    }

    /** The local broker's TLS port: {@code RESQ_RABBITMQ_TLS_PORT}, else 5671. */
    static int tlsPort() {
        String port = System.getenv("RESQ_RABBITMQ_TLS_PORT");
        return port == null || port.isBlank() ? 5671 : Integer.parseInt(port.trim());
    }

    /** The self-signed certificate of the TLS listener, as {@code src/test/tls/enable-tls-listener.sh} made it. */
    static Path tlsCertificate() {
        String dir = System.getenv("RESQ_RABBITMQ_TLS_DIR");
        return Path.of(dir == null || dir.isBlank() ? "/var/lib/resq/rabbitmq-tls" : dir, "cert.pem");
    }

    /**
     * Makes sure the local node has its TLS listener: when the TLS port does not answer, runs
     * {@code src/test/tls/enable-tls-listener.sh} (which {@code .ci/run} runs too) to start one
     * without restarting the node. Skips the calling test (or fails it under {@code CI=true}) when
     * that is not possible.
     */
    static void requireTls() {
        require();
        if (answers(tlsPort()) && Files.isReadable(tlsCertificate())) {
            return;
        }
        Path script = Path.of("src/test/tls/enable-tls-listener.sh");
        if (!Files.isReadable(script) || !canControlBroker()) {
            Brokers.missing("RabbitMQ has no TLS listener on 127.0.0.1:" + tlsPort() + " with the certificate "
                    + tlsCertificate() + ", and rabbitmqctl cannot start one here; run "
                    + "transport-rabbitmq/src/test/tls/enable-tls-listener.sh on the broker's machine.");
        }
        try {
            Process p = new ProcessBuilder(List.of("bash", script.toString())).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                Brokers.missing("starting RabbitMQ's TLS listener failed: " + out);
            }
        } catch (IOException e) {
            Brokers.missing("cannot run " + script + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Brokers.missing("interrupted while starting RabbitMQ's TLS listener");
        }
    }

    /** A context that trusts exactly the test broker's self-signed certificate. */
    static SSLContext tlsContextTrustingTheBroker() throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(RabbitBroker.tlsCertificate())) {
            Certificate cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
            trust.setCertificateEntry("resq-test-broker", cert);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    private static boolean answers(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** True when rabbitmqctl can reach the local node, so fault tests can cut connections for real. */
    static boolean canControlBroker() {
        try {
            Process p = new ProcessBuilder(List.of("rabbitmqctl", "-q", "ping")).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
