package io.resq.sqs;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

/**
 * Moves a message of a standard queue that arrived before its due time ({@link WireFormat#DUE})
 * one hop further: it is sent again, body and attributes unchanged, with {@code DelaySeconds} of
 * the time left (at most 15 minutes, rounded up so never early), and the received copy is deleted
 * once SQS has stored the new one.
 *
 * <p>Why not keep it invisible until due, as FIFO queues must: a message kept invisible is in
 * flight, and a standard queue's in-flight quota (about 120,000) is shared by every consumer;
 * delays of hours during an outage would fill it and stop receives for the whole queue. A
 * delayed message is not in flight, and a hop is one send and one delete per 15 minutes.
 *
 * <p>Nothing is lost: the delete happens only after the send succeeded. A failed send leaves the
 * received copy invisible until the receive's visibility timeout, after which it is received and
 * hopped again; a failed delete after a good send means one more copy, delivered twice with the
 * same id (at-least-once). Runs on the receiver's fetching thread; stateless.
 */
final class DelayHops {

    private static final Logger log = LoggerFactory.getLogger(DelayHops.class);
    private static final int MAX_BATCH = 10;

    private DelayHops() {
    }

    /** Hops each of {@code notDue} (all of one standard queue, each with a due time after {@code nowMillis}). */
    static void hop(SqsTransport transport, SqsQueue queue, List<Message> notDue, long nowMillis) {
        for (int i = 0; i < notDue.size(); i += MAX_BATCH) {
            hopBatch(transport, queue, notDue.subList(i, Math.min(notDue.size(), i + MAX_BATCH)), nowMillis);
        }
    }

    /** DelaySeconds for a message due at {@code dueMillis}: the time left, rounded up, at most 15 minutes, at least 1 s. */
    static int hopSeconds(long dueMillis, long nowMillis) {
        long left = Math.max(1, (dueMillis - nowMillis + 999) / 1000);
        return (int) Math.min(WireFormat.MAX_NATIVE_DELAY.toSeconds(), left);
    }

    private static void hopBatch(SqsTransport transport, SqsQueue queue, List<Message> batch, long nowMillis) {
        List<SendMessageBatchRequestEntry> entries = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Message m = batch.get(i);
            entries.add(SendMessageBatchRequestEntry.builder()
                    .id(Integer.toString(i))
                    .messageBody(m.body())
                    .messageAttributes(m.messageAttributes())
                    .delaySeconds(hopSeconds(WireFormat.dueAt(m), nowMillis))
                    .build());
        }
        SendMessageBatchResponse response;
        try {
            response = transport.client().sendMessageBatch(r -> r.queueUrl(queue.url()).entries(entries));
        } catch (RuntimeException e) {
            log.warn("could not re-send {} delayed message(s) to '{}' for their next delay ({}); they are received again after "
                    + "the visibility timeout and re-sent then", batch.size(), queue.physicalName(), transport.endpoint().describe(null, e));
            return;
        }
        boolean[] failed = new boolean[batch.size()];
        for (BatchResultErrorEntry f : response.failed()) {
            int i = Integer.parseInt(f.id());
            failed[i] = true;
            log.warn("SQS refused to re-send delayed message {} to '{}' for its next delay ({} {}); it is received again after the "
                    + "visibility timeout and re-sent then", WireFormat.id(batch.get(i)), queue.physicalName(), f.code(), f.message());
        }
        for (int i = 0; i < batch.size(); i++) {
            if (!failed[i]) {
                Message m = batch.get(i);
                if (log.isDebugEnabled()) {
                    log.debug("message {} in '{}' is due in {} s: re-sent with DelaySeconds {}", WireFormat.id(m), queue.physicalName(),
                            Math.max(0, (WireFormat.dueAt(m) - nowMillis) / 1000), hopSeconds(WireFormat.dueAt(m), nowMillis));
                }
                transport.acks().add(queue, WireFormat.id(m), m.receiptHandle());
            }
        }
    }
}
