package io.resq.kafka;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * Explains why a broker does not answer. Kafka's clients only say "timed out"; a plain TCP
 * connect to each bootstrap address tells a refused port from an unknown host or a silent one,
 * which is what an operator needs to read in the error.
 */
final class BrokerProbe {

    private BrokerProbe() {
    }

    /** One line per bootstrap address, e.g. {@code 127.0.0.1:9092 refused the connection (Connection refused)}. */
    static String describe(String bootstrap, int timeoutMillis) {
        List<String> out = new ArrayList<>();
        for (String entry : bootstrap.split(",")) {
            String hostPort = entry.replaceFirst("^[A-Za-z0-9_]+://", "").trim();
            int colon = hostPort.lastIndexOf(':');
            if (hostPort.isEmpty()) {
                continue;
            }
            if (colon < 1) {
                out.add(hostPort + ": no port");
                continue;
            }
            String host = hostPort.substring(0, colon);
            int port;
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                out.add(hostPort + ": port is not a number");
                continue;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), timeoutMillis);
                out.add(hostPort + " accepts TCP connections but does not answer as a Kafka broker in time");
            } catch (IOException e) {
                out.add(hostPort + " is not reachable (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
            }
        }
        return String.join("; ", out);
    }
}
