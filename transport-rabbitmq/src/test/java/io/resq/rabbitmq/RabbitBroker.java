package io.resq.rabbitmq;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.resq.testkit.Brokers;
import java.io.IOException;
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
