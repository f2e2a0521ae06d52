package io.resq.sqs;

import java.net.URI;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The address of the SQS endpoint a client talks to, as {@code host:port}, for error messages and
 * health. Built once from the client's configuration; never carries user info or credentials.
 */
final class SqsEndpoint {

    private final String address;

    private SqsEndpoint(String address) {
        this.address = address;
    }

    /** The endpoint override of {@code client}, or the regional AWS endpoint when there is none. */
    static SqsEndpoint of(SqsClient client) {
        Optional<URI> override = client.serviceClientConfiguration().endpointOverride();
        if (override.isPresent()) {
            return new SqsEndpoint(hostAndPort(override.get()));
        }
        Region region = client.serviceClientConfiguration().region();
        return new SqsEndpoint("sqs." + (region == null ? "<no region>" : region.id()) + ".amazonaws.com:443");
    }

    /** {@code host:port} of {@code uri}, dropping any user info so a password never reaches a message. */
    static String hostAndPort(URI uri) {
        int port = uri.getPort();
        if (port < 0) {
            port = "http".equalsIgnoreCase(uri.getScheme()) ? 80 : 443;
        }
        return uri.getHost() + ":" + port;
    }

    /** {@code host:port}. */
    String address() {
        return address;
    }

    /**
     * A description of {@code e} that says where and why: "SQS at 127.0.0.1:9324 (queue 'orders'):
     * unreachable, Connection refused". Walks the cause chain because the SDK wraps the socket error.
     */
    String describe(String what, Throwable e) {
        StringBuilder sb = new StringBuilder("SQS at ").append(address);
        if (what != null) {
            sb.append(" (").append(what).append(')');
        }
        sb.append(": ");
        if (e instanceof SdkClientException) {
            sb.append("unreachable or no answer, ");
        }
        sb.append(rootMessage(e));
        return sb.toString();
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String top = e instanceof SdkException ? e.getMessage() : e.toString();
        if (root == e) {
            return top;
        }
        return top + " (cause: " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }

    @Override
    public String toString() {
        return address;
    }
}
