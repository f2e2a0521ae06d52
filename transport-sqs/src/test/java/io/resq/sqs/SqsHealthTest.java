package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ListQueuesRequest;
import software.amazon.awssdk.services.sqs.model.SqsException;

/**
 * Health with least-privilege IAM: permissions granted per queue, {@code ListQueues} denied.
 * ElasticMQ has no IAM, so the denial is the answer SQS gives (403 AccessDenied), raised by the
 * client before the request leaves; everything else goes to the real endpoint.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqsHealthTest {

    private final FaultInjector faults = new FaultInjector();
    private final SqsClient client = faults.client(ElasticMq.endpoint());

    @AfterEach
    void close() {
        client.close();
    }

    private void denyListQueues() {
        faults.refuse = r -> r instanceof ListQueuesRequest
                ? SqsException.builder().statusCode(403).message("not authorized to perform: sqs:ListQueues")
                        .awsErrorDetails(AwsErrorDetails.builder().errorCode("AccessDenied").errorMessage("not authorized").build()).build()
                : null;
    }

    @Test
    void healthIsUpWithoutListQueuesPermission() {
        denyListQueues();
        try (SqsTransport transport = SqsTransport.create(client)) {
            assertThat(transport.health().isUp()).as("no queue in use yet: %s", transport.health().detail()).isTrue();
            Receiver r = transport.receiver(TestQueues.unique("health"), ReceiverOptions.defaults());
            assertThat(transport.health().isUp()).as(transport.health().detail()).isTrue();
            assertThat(transport.health().detail()).contains("1 queue(s) in use");
            r.close();
        }
        assertThat(faults.requests).noneMatch(ListQueuesRequest.class::isInstance);
    }

    @Test
    void healthIsDownNamingAQueueInUseThatNoLongerAnswers() {
        try (SqsTransport transport = SqsTransport.create(client)) {
            String queue = TestQueues.unique("health_gone");
            Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
            assertThat(transport.health().isUp()).isTrue();
            client.deleteQueue(b -> b.queueUrl(TestQueues.url(client, queue)));
            assertThat(transport.health().isUp()).isFalse();
            assertThat(transport.health().detail()).contains(queue);
            r.close();
        }
    }
}
