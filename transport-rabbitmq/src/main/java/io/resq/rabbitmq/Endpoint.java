package io.resq.rabbitmq;

import com.rabbitmq.client.ConnectionFactory;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * The broker address as it may appear in errors, logs and {@code health()}: host, port and
 * virtual host, never the user name or password.
 */
final class Endpoint {

    private final String address;
    private final String virtualHost;
    private final boolean tls;

    private Endpoint(String address, String virtualHost, boolean tls) {
        this.address = address;
        this.virtualHost = virtualHost;
        this.tls = tls;
    }

    /** The factory's own host and port. */
    static Endpoint of(ConnectionFactory factory) {
        return new Endpoint(factory.getHost() + ":" + factory.getPort(), factory.getVirtualHost(), factory.isSSL());
    }

    /** Several addresses (a cluster), or a resolver's description when the addresses are only known when connecting. */
    static Endpoint of(ConnectionFactory factory, String addresses) {
        return new Endpoint(addresses, factory.getVirtualHost(), factory.isSSL());
    }

    /** {@code host1:port1,host2:port2}. */
    static String join(java.util.List<com.rabbitmq.client.Address> addresses, int defaultPort) {
        StringBuilder out = new StringBuilder();
        for (com.rabbitmq.client.Address a : addresses) {
            if (out.length() > 0) {
                out.append(',');
            }
            out.append(a.getHost()).append(':').append(a.getPort() == -1 ? defaultPort : a.getPort());
        }
        return out.toString();
    }

    /** {@code host:port}, or the list of them for a cluster. */
    String address() {
        return address;
    }

    @Override
    public String toString() {
        return "RabbitMQ at " + address + " (vhost " + virtualHost + (tls ? ", TLS" : "") + ")";
    }

    /**
     * {@code uri} with its user info replaced by {@code ***}, for error messages about a URI that
     * may carry a password. Returns a fixed placeholder when the text is not a URI at all.
     */
    static String mask(String uri) {
        if (uri == null) {
            return "null";
        }
        try {
            URI parsed = new URI(uri);
            if (parsed.getRawUserInfo() == null) {
                return uri;
            }
            return new URI(parsed.getScheme(), "***", parsed.getHost(), parsed.getPort(), parsed.getPath(),
                    parsed.getQuery(), parsed.getFragment()).toString();
        } catch (URISyntaxException e) {
            return "<unparseable URI>";
        }
    }
}
