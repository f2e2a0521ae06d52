package io.resq.sqs;

import io.resq.spi.Health;
import java.util.List;
import java.util.Set;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;

/**
 * The health of an SQS transport, asked with the permissions the transport already needs.
 *
 * <p>Why not {@code ListQueues}: with IAM policies granted per queue (the usual least-privilege
 * setup) {@code ListQueues} is denied, and health would say DOWN while everything works. Instead:
 * one {@code GetQueueAttributes} ({@code QueueArn}) per queue in use, the call the transport
 * already makes when it resolves a queue; DOWN names the first queue that fails and why. Before
 * any queue is in use, a {@code GetQueueUrl} for a queue name nobody uses tells whether SQS
 * answers and accepts the credentials: "no such queue" and "access denied" are both answers from
 * SQS with valid credentials, so UP; anything else (unreachable, bad or expired credentials) is
 * DOWN. Stateless; called on any thread.
 */
final class SqsHealth {

    /** A name SQS allows that no application is expected to use; only looked up, never created. */
    static final String PROBE_QUEUE = "resq-health-probe-never-created";
    /** Error codes that prove SQS answered and authenticated the caller. */
    private static final Set<String> ANSWERED = Set.of("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
            "AccessDenied", "AccessDeniedException");

    private SqsHealth() {
    }

    static Health check(SqsClient client, SqsEndpoint endpoint, List<SqsQueue> inUse, int receivers) {
        if (inUse.isEmpty()) {
            try {
                client.getQueueUrl(r -> r.queueName(PROBE_QUEUE));
            } catch (QueueDoesNotExistException e) {
                // the expected answer
            } catch (AwsServiceException e) {
                if (e.awsErrorDetails() == null || !ANSWERED.contains(e.awsErrorDetails().errorCode())) {
                    return Health.down(endpoint.describe(null, e));
                }
            } catch (RuntimeException e) {
                return Health.down(endpoint.describe(null, e));
            }
            return Health.up("SQS at " + endpoint.address() + " answers; no queue in use yet");
        }
        for (SqsQueue q : inUse) {
            try {
                client.getQueueAttributes(r -> r.queueUrl(q.url()).attributeNames(QueueAttributeName.QUEUE_ARN));
            } catch (RuntimeException e) {
                return Health.down(endpoint.describe("queue '" + q.physicalName() + "'", e));
            }
        }
        return Health.up("SQS at " + endpoint.address() + ", " + inUse.size() + " queue(s) in use and answering, " + receivers
                + " receiver(s)");
    }
}
