package io.resq.redis;

import java.net.URI;
import java.util.Objects;

/**
 * Where the transport talks to, in a form safe to print: host and port, never the user info of
 * the URI (which may hold a password).
 */
final class Endpoint {

    private final String description;

    private Endpoint(String description) {
        this.description = description;
    }

    /** The endpoint of a Redis URI; the password it may carry is left out. */
    static Endpoint of(URI uri) {
        Objects.requireNonNull(uri, "uri must not be null");
        String host = uri.getHost() == null ? "?" : uri.getHost();
        int port = uri.getPort() < 0 ? 6379 : uri.getPort();
        return new Endpoint(host + ":" + port);
    }

    /** The endpoint of a client the user built, whose address the transport cannot see. */
    static Endpoint userClient() {
        return new Endpoint("the user-supplied Redis client");
    }

    /** Wraps a client error into an exception naming this endpoint, what was being done and the cause. */
    RedisTransportException failure(String action, Throwable cause) {
        return new RedisTransportException("Redis at " + description + ": " + action + " failed: " + causeText(cause), cause);
    }

    /** "ExceptionType: message", following the cause chain to the root for connection errors. */
    static String causeText(Throwable t) {
        StringBuilder text = new StringBuilder(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        Throwable root = t;
        for (int depth = 0; depth < 10; depth++) {
            // Jedis keeps the socket error of a failed connect as a suppressed exception, not a cause.
            Throwable next = root.getCause() != null ? root.getCause()
                    : root.getSuppressed().length > 0 ? root.getSuppressed()[0] : null;
            if (next == null || next == root) {
                break;
            }
            root = next;
        }
        if (root != t) {
            text.append(" (").append(root.getClass().getSimpleName()).append(": ").append(root.getMessage()).append(')');
        }
        return text.toString();
    }

    @Override
    public String toString() {
        return description;
    }
}
