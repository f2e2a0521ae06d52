package io.resq.examples;

import io.resq.Queues;
import io.resq.sqs.SqsTransport;
import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Orders through Amazon SQS: a processor handles them, one order fails once and is redelivered a
 * second later (SQS {@code DelaySeconds}) with its failure in the history, and one that always
 * fails ends in the queue {@code example_orders_deadletter}.
 *
 * <p>Against a local ElasticMQ on port 9324 (start one with
 * {@code mvn -q -pl transport-sqs exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.resq.sqs.LocalElasticMq})
 * or the endpoint in {@code RESQ_SQS_ENDPOINT}:
 * {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.SqsExample}.
 * With the argument {@code aws} it uses the AWS SDK's default region and credentials instead.
 */
public final class SqsExample {

    private SqsExample() {
    }

    /** Runs the example; exits when every order was handled or dead-lettered. */
    public static void main(String[] args) throws Exception {
        // The application's own client: credentials, region and endpoint stay its business.
        try (SqsClient sqs = client(args.length > 0 && args[0].equals("aws"));
             Queues queues = Queues.using(SqsTransport.create(sqs))) {
            BrokerTour.run(queues, "example_orders");
        }
    }

    private static SqsClient client(boolean realAws) {
        if (realAws) {
            return SqsClient.create();
        }
        String endpoint = System.getenv().getOrDefault("RESQ_SQS_ENDPOINT", "http://127.0.0.1:9324");
        return SqsClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_EAST_1)
                // ElasticMQ accepts any credentials; against AWS use the default chain (argument "aws").
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local")))
                .build();
    }
}
