package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.sqs.SqsTransport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

/**
 * SQS (standard queues) with a handler that fails for every tenth message, always: the same
 * scenario and policy as {@link KafkaFailureScenario}. Both sides read resq's envelope. The raw
 * consumer receives 10 at a time, decodes each body with Jackson, calls again after 10 ms up to
 * three calls, sends a message that failed three times to a dead-letter queue ({@code SendMessage}
 * returns once SQS stored it), deletes each receive's messages in one batch, and logs a line per
 * retry and per dead letter, as resq's default listener does.
 *
 * <p>Run: {@code benchmarks/run SqsFailureScenario 10000 in-process raw,resq 2} (ElasticMQ started
 * in this JVM, or SQS at {@code RESQ_SQS_ENDPOINT}; arguments in {@link FailureRuns}).
 */
final class SqsFailureScenario {

    private static final Logger LOG = LoggerFactory.getLogger(SqsFailureScenario.class);

    private SqsFailureScenario() {
    }

    /** Args: see {@link FailureRuns#run}. */
    public static void main(String[] args) throws Exception {
        try (Brokers.Sqs sqs = Brokers.Sqs.start(); SqsClient client = sqs.client()) {
            FailureRuns.run("SQS at " + sqs + ", standard queues", args, n -> raw(client, n), (n, policy) -> resq(client, n, policy));
        }
    }

    static KafkaFailureScenario.Outcome raw(SqsClient client, int n) throws Exception {
        String queue = "bench_fail_raw_" + UUID.randomUUID().toString().substring(0, 8);
        String url = client.createQueue(r -> r.queueName(queue)).queueUrl();
        String deadLetters = client.createQueue(r -> r.queueName(queue + "_deadletter")).queueUrl();
        KafkaFailureScenario.Tally tally = new KafkaFailureScenario.Tally(n);
        try {
            for (int from = 0; from < n; from += 10) {
                List<SendMessageBatchRequestEntry> entries = new ArrayList<>(10);
                for (int i = from; i < Math.min(n, from + 10); i++) {
                    entries.add(SendMessageBatchRequestEntry.builder().id(Integer.toString(i - from))
                            .messageBody(new String(EnvelopeJson.of(queue, TimedBody.of(i)).toBytes(), StandardCharsets.UTF_8)).build());
                }
                if (!client.sendMessageBatch(r -> r.queueUrl(url).entries(entries)).failed().isEmpty()) {
                    throw new IllegalStateException("SQS refused part of a batch");
                }
            }
            int seen = 0;
            while (seen < n) {
                List<Message> got = client.receiveMessage(r -> r.queueUrl(url).maxNumberOfMessages(10).waitTimeSeconds(1)).messages();
                if (got.isEmpty()) {
                    continue;
                }
                List<DeleteMessageBatchRequestEntry> deletes = new ArrayList<>(got.size());
                for (Message m : got) {
                    tally.starting();
                    settle(client, queue, deadLetters, m, tally);
                    deletes.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(deletes.size())).receiptHandle(m.receiptHandle()).build());
                    seen++;
                }
                client.deleteMessageBatch(r -> r.queueUrl(url).entries(deletes));
            }
            return tally.await("raw, 10% failing");
        } finally {
            client.deleteQueue(r -> r.queueUrl(url));
            client.deleteQueue(r -> r.queueUrl(deadLetters));
        }
    }

    /** The hand-written failure path: up to three calls, then the dead-letter queue, stored. */
    private static void settle(SqsClient client, String queue, String deadLetters, Message m, KafkaFailureScenario.Tally tally)
            throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                KafkaFailureScenario.handle(EnvelopeJson.read(m.body().getBytes(StandardCharsets.UTF_8)).payload());
                tally.settled(tally.ok);
                return;
            } catch (IOException | RuntimeException e) {
                if (attempt < KafkaFailureScenario.ATTEMPTS) {
                    LOG.info("retrying {} of {} after attempt {} failed ({}), next in {} ms", m.messageId(), queue, attempt,
                            e.getMessage(), KafkaFailureScenario.BACKOFF.toMillis());
                    Thread.sleep(KafkaFailureScenario.BACKOFF.toMillis());
                    continue;
                }
                // A real consumer would add the error to the message; the attribute keeps that cost in view.
                client.sendMessage(r -> r.queueUrl(deadLetters).messageBody(m.body()).messageAttributes(Map.of("error",
                        MessageAttributeValue.builder().dataType("String").stringValue(String.valueOf(e.getMessage())).build())));
                LOG.error("dead-lettered {} of {} to {} after {} calls (last: {})", m.messageId(), queue, deadLetters, attempt,
                        e.getMessage());
                tally.settled(tally.dead);
                return;
            }
        }
    }

    static KafkaFailureScenario.Outcome resq(SqsClient client, int n, KafkaFailureScenario.Policy policy) throws Exception {
        String queue = "bench_fail_resq_" + UUID.randomUUID().toString().substring(0, 8);
        KafkaFailureScenario.Tally tally = new KafkaFailureScenario.Tally(n);
        // Created up front, as the throughput benchmark does: the send channel is asynchronous.
        String url = client.createQueue(r -> r.queueName(queue)).queueUrl();
        try (Queues queues = Queues.using(SqsTransport.create(client))) {
            Enqueue<String> out = queues.enqueue(queue, String.class);
            for (int i = 0; i < n; i++) {
                out.messages().put(TimedBody.of(i));
            }
            while (stored(client, url) < n) {
                Thread.sleep(20);
            }
            Processor<String> p = KafkaFailureScenario.startFailingProcessor(queues, queue, tally, policy);
            try {
                return tally.await("resq, 10% failing");
            } finally {
                p.close();
                client.deleteQueue(r -> r.queueUrl(url));
                client.deleteQueue(r -> r.queueUrl(client.getQueueUrl(g -> g.queueName(queue + "_deadletter")).queueUrl()));
            }
        }
    }

    private static int stored(SqsClient client, String url) {
        String n = client.getQueueAttributes(r -> r.queueUrl(url).attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                .attributes().get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES);
        return n == null ? 0 : Integer.parseInt(n);
    }
}
