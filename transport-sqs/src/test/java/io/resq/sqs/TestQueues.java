package io.resq.sqs;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/** Helpers shared by the SQS tests: unique queue names, receiving for a while, what a queue holds now. */
final class TestQueues {

    private TestQueues() {
    }

    /** A queue name no other test (or parallel run on the same endpoint) uses. */
    static String unique(String base) {
        return "sqs_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    /** Polls {@code r} until {@code n} deliveries arrived or {@code within} passed; settles nothing. */
    static List<Delivery> receive(Receiver r, int n, Duration within) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + within.toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            got.addAll(r.poll(n - got.size(), Duration.ofMillis(200)));
        }
        return got;
    }

    /** What SQS counts in {@code queueUrl} now: visible, in flight (not visible) and delayed messages. */
    record Counts(int visible, int inFlight, int delayed) {
        int total() {
            return visible + inFlight + delayed;
        }
    }

    static Counts counts(SqsClient client, String queueUrl) {
        Map<QueueAttributeName, String> a = client.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return new Counts(Integer.parseInt(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, "0")),
                Integer.parseInt(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE, "0")),
                Integer.parseInt(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED, "0")));
    }

    static String url(SqsClient client, String physicalName) {
        return client.getQueueUrl(r -> r.queueName(physicalName)).queueUrl();
    }
}
