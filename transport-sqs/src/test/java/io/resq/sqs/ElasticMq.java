package io.resq.sqs;

import io.resq.testkit.Brokers;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import org.elasticmq.NodeAddress;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The SQS endpoint of the tests: {@code RESQ_SQS_ENDPOINT} when set (checked reachable, skipping or,
 * under CI, failing as {@link Brokers} rules), otherwise one ElasticMQ started in this JVM on a
 * free port and shared by the test classes.
 */
final class ElasticMq {

    private static String endpoint;

    private ElasticMq() {
    }

    /** The endpoint URI, starting the in-JVM ElasticMQ on first use. */
    static synchronized String endpoint() {
        String external = Brokers.sqsEndpoint();
        if (external != null && !external.isBlank()) {
            Brokers.requireReachable("SQS", external, "RESQ_SQS_ENDPOINT");
            return external;
        }
        if (endpoint == null) {
            int port = freePort();
            start(port);
            endpoint = "http://127.0.0.1:" + port;
        }
        return endpoint;
    }

    /** Starts an in-memory ElasticMQ on {@code port}. */
    static SQSRestServer start(int port) {
        SQSRestServer server = SQSRestServerBuilder.withPort(port)
                .withInterface("127.0.0.1")
                .withServerAddress(new NodeAddress("http", "127.0.0.1", port, ""))
                .start();
        server.waitUntilStarted();
        return server;
    }

    /** A client for {@code uri} with static test credentials and the light URL-connection HTTP client. */
    static SqsClient client(String uri) {
        return SqsClient.builder()
                .endpointOverride(URI.create(uri))
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }

    /** A client for the test endpoint. */
    static SqsClient client() {
        return client(endpoint());
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port", e);
        }
    }
}
