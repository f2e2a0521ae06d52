package io.resq.sqs;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

/**
 * Sends to one queue with {@code SendMessageBatch}: up to 10 entries and at most the queue's
 * {@code MaximumMessageSize} per request. Entries SQS fails on its side are retried a few times;
 * entries it refuses as the sender's fault are not. Runs on the calling thread (helped by the
 * transport's send pool for the further batches of a large send to a standard queue) and returns
 * a completed future, so the caller's thread is the one that waits for SQS. Thread-safe.
 */
final class SqsSender implements Sender {

    private static final Logger log = LoggerFactory.getLogger(SqsSender.class);
    private static final int MAX_BATCH = 10;
    private static final int ENTRY_ATTEMPTS = 3;

    private final SqsTransport transport;
    private final String queue;

    SqsSender(SqsTransport transport, String queue) {
        this.transport = transport;
        this.queue = queue;
    }

    @Override
    public CompletableFuture<Void> send(List<Outbound> messages) {
        Objects.requireNonNull(messages, "messages must not be null");
        try {
            transport.requireOpen();
            if (messages.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            SqsQueue q = transport.queues().resolve(queue);
            long now = System.currentTimeMillis();
            List<WireFormat.Encoded> encoded = new ArrayList<>(messages.size());
            for (Outbound m : messages) {
                WireFormat.Encoded e = WireFormat.encode(m, q.fifo(), now);
                checkSize(q, e);
                encoded.add(e);
            }
            List<List<WireFormat.Encoded>> batches = split(q, encoded);
            if (q.fifo() || batches.size() == 1) {
                // FIFO: one request after the other, or a later batch could overtake an earlier one of the same key.
                for (List<WireFormat.Encoded> b : batches) {
                    sendBatch(q, b);
                }
            } else {
                sendInParallel(q, batches);
            }
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Batches of up to 10 entries and at most the queue's MaximumMessageSize in all, in order. */
    private static List<List<WireFormat.Encoded>> split(SqsQueue q, List<WireFormat.Encoded> encoded) {
        List<List<WireFormat.Encoded>> batches = new ArrayList<>();
        int from = 0;
        while (from < encoded.size()) {
            int to = from;
            long bytes = 0;
            while (to < encoded.size() && to - from < MAX_BATCH && bytes + encoded.get(to).wireSize() <= q.maxMessageSize()) {
                bytes += encoded.get(to).wireSize();
                to++;
            }
            batches.add(encoded.subList(from, to));
            from = to;
        }
        return batches;
    }

    /**
     * Standard queues have no order to keep, so the batches of one send go out concurrently on
     * the transport's send pool (the calling thread takes the first one, and any the pool has no
     * thread for). Waits for all; throws the first failure.
     */
    private void sendInParallel(SqsQueue q, List<List<WireFormat.Encoded>> batches) {
        List<CompletableFuture<Void>> others = new ArrayList<>(batches.size() - 1);
        for (List<WireFormat.Encoded> b : batches.subList(1, batches.size())) {
            others.add(CompletableFuture.runAsync(() -> sendBatch(q, b), transport.sendPool()));
        }
        RuntimeException failure = null;
        try {
            sendBatch(q, batches.get(0));
        } catch (RuntimeException e) {
            failure = e;
        }
        for (CompletableFuture<Void> f : others) {
            try {
                f.join();
            } catch (CompletionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private void checkSize(SqsQueue q, WireFormat.Encoded e) {
        int bodyBytes = e.source().body().length;
        int limit = transport.maxBodySize();
        if (bodyBytes > limit) {
            throw new IllegalArgumentException("message " + e.source().id() + " has a body of " + bodyBytes
                    + " bytes, over the SQS transport's limit of " + limit + " bytes (MaximumMessageSize "
                    + transport.maxMessageSize() + " less " + SqsTransport.ATTRIBUTE_RESERVE + " for attributes)");
        }
        if (e.wireSize() > q.maxMessageSize()) {
            throw new IllegalArgumentException("message " + e.source().id() + " is too large for SQS queue '" + q.physicalName()
                    + "': its body of " + bodyBytes + " bytes and its attributes make " + e.wireSize()
                    + " bytes, over the queue's MaximumMessageSize of " + q.maxMessageSize() + " bytes");
        }
    }

    /** Sends one batch, retrying entries that failed on SQS's side; throws if any entry is left. */
    private void sendBatch(SqsQueue q, List<WireFormat.Encoded> batch) {
        List<WireFormat.Encoded> pending = batch;
        List<String> errors = new ArrayList<>();
        for (int attempt = 1; attempt <= ENTRY_ATTEMPTS && !pending.isEmpty(); attempt++) {
            if (attempt > 1) {
                pause(attempt);
            }
            List<SendMessageBatchRequestEntry> entries = new ArrayList<>(pending.size());
            for (int i = 0; i < pending.size(); i++) {
                entries.add(entry(Integer.toString(i), pending.get(i)));
            }
            SendMessageBatchResponse response;
            try {
                response = transport.client().sendMessageBatch(r -> r.queueUrl(q.url()).entries(entries));
            } catch (RuntimeException e) {
                throw transport.failure("sending " + pending.size() + " message(s) to queue '" + q.physicalName() + "'", e);
            }
            List<WireFormat.Encoded> retry = new ArrayList<>();
            errors.clear();
            for (BatchResultErrorEntry failed : response.failed()) {
                WireFormat.Encoded e = pending.get(Integer.parseInt(failed.id()));
                errors.add(e.source().id() + ": " + failed.code() + " " + failed.message());
                if (Boolean.TRUE.equals(failed.senderFault())) {
                    throw new SqsTransportException("SQS at " + transport.endpoint().address() + " refused message "
                            + e.source().id() + " for queue '" + q.physicalName() + "': " + failed.code() + " " + failed.message(), null);
                }
                retry.add(e);
            }
            if (!retry.isEmpty()) {
                log.debug("SQS failed {} of {} entries for queue '{}' on its side (attempt {}): {}",
                        retry.size(), pending.size(), q.physicalName(), attempt, errors);
            }
            pending = retry;
        }
        if (!pending.isEmpty()) {
            throw new SqsTransportException("SQS at " + transport.endpoint().address() + " did not store " + pending.size()
                    + " message(s) for queue '" + q.physicalName() + "' after " + ENTRY_ATTEMPTS + " attempts: " + errors, null);
        }
    }

    private static SendMessageBatchRequestEntry entry(String entryId, WireFormat.Encoded e) {
        SendMessageBatchRequestEntry.Builder b = SendMessageBatchRequestEntry.builder()
                .id(entryId)
                .messageBody(e.body())
                .messageAttributes(e.attributes());
        if (e.delaySeconds() > 0) {
            b.delaySeconds(e.delaySeconds());
        }
        if (e.groupId() != null) {
            b.messageGroupId(e.groupId()).messageDeduplicationId(e.dedupId());
        }
        return b.build();
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(50L << attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while retrying an SQS send", e);
        }
    }
}
