package io.resq.rabbitmq;

import com.rabbitmq.client.ConnectionFactory;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * The broker address as it may appear in errors, logs and {@code health()}: host, port and
 * virtual host, never the user name or password.
 */
final class Endpoint {

    private final String host;
    private final int port;
    private final String virtualHost;

    private Endpoint(String host, int port, String virtualHost) {
        this.host = host;
        this.port = port;
        this.virtualHost = virtualHost;
    }

    static Endpoint of(ConnectionFactory factory) {
        return new Endpoint(factory.getHost(), factory.getPort(), factory.getVirtualHost());
    }

    /** {@code host:port}. */
    String address() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return "RabbitMQ at " + address() + " (vhost " + virtualHost + ")";
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
