package io.resq.sqs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;

/**
 * Batches acks into {@code DeleteMessageBatch} calls of up to 10 receipt handles per queue.
 *
 * <p>Threads: any thread calls {@link #add}; one daemon thread owned by this batcher ("resq-sqs-acks")
 * drains the queue and talks to SQS. A delete SQS fails on its side is retried a few times; one
 * that still fails only means the message is delivered again after its visibility timeout
 * (at-least-once), which is logged. {@link #close()} flushes what is pending, then stops the thread.
 */
final class AckBatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AckBatcher.class);
    private static final int MAX_BATCH = 10;
    private static final int ATTEMPTS = 4;
    /** How long the thread waits for more acks before sending a partial batch: latency vs requests. */
    private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private record Pending(String queueUrl, String queueName, SqsDelivery delivery, int attempt) {
    }

    private final SqsClient client;
    private final SqsEndpoint endpoint;
    private final LinkedBlockingQueue<Pending> pending = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;

    AckBatcher(SqsClient client, SqsEndpoint endpoint) {
        this.client = client;
        this.endpoint = endpoint;
        this.thread = new Thread(this::run, "resq-sqs-acks");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    void add(String queueUrl, String queueName, SqsDelivery delivery) {
        pending.add(new Pending(queueUrl, queueName, delivery, 1));
    }

    private void run() {
        List<Pending> batch = new ArrayList<>();
        while (!stopping || !pending.isEmpty()) {
            try {
                Pending first = pending.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                long until = System.nanoTime() + LINGER_NANOS;
                while (batch.size() < MAX_BATCH * 4) {
                    Pending next = pending.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                }
                flush(batch);
            } catch (InterruptedException e) {
                // close() interrupts only after the drain deadline: give up on what is left.
                break;
            } catch (RuntimeException e) {
                log.warn("acks failed unexpectedly; their messages will be delivered again", e);
            } finally {
                batch.clear();
            }
        }
    }

    private void flush(List<Pending> batch) throws InterruptedException {
        Map<String, List<Pending>> byQueue = new LinkedHashMap<>();
        for (Pending p : batch) {
            byQueue.computeIfAbsent(p.queueUrl(), u -> new ArrayList<>()).add(p);
        }
        for (List<Pending> list : byQueue.values()) {
            for (int i = 0; i < list.size(); i += MAX_BATCH) {
                delete(list.subList(i, Math.min(list.size(), i + MAX_BATCH)));
            }
        }
    }

    private void delete(List<Pending> chunk) throws InterruptedException {
        List<DeleteMessageBatchRequestEntry> entries = new ArrayList<>(chunk.size());
        for (int i = 0; i < chunk.size(); i++) {
            entries.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(i))
                    .receiptHandle(chunk.get(i).delivery().receiptHandle()).build());
        }
        Pending head = chunk.get(0);
        try {
            DeleteMessageBatchResponse response = client.deleteMessageBatch(r -> r.queueUrl(head.queueUrl()).entries(entries));
            for (BatchResultErrorEntry failed : response.failed()) {
                retryOrGiveUp(chunk.get(Integer.parseInt(failed.id())), failed.code() + " " + failed.message(),
                        !Boolean.TRUE.equals(failed.senderFault()));
            }
        } catch (RuntimeException e) {
            String cause = endpoint.describe("deleting " + chunk.size() + " acked message(s) from '" + head.queueName() + "'", e);
            for (Pending p : chunk) {
                retryOrGiveUp(p, cause, true);
            }
            if (!stopping) {
                Thread.sleep(100L * head.attempt()); // the broker is struggling: do not spin on it
            }
        }
    }

    private void retryOrGiveUp(Pending p, String cause, boolean retryable) {
        if (retryable && p.attempt() < ATTEMPTS) {
            pending.add(new Pending(p.queueUrl(), p.queueName(), p.delivery(), p.attempt() + 1));
        } else {
            log.warn("could not delete acked message {} from SQS queue '{}' ({}); it will be delivered again after its "
                    + "visibility timeout", p.delivery().id(), p.queueName(), cause);
        }
    }

    /** Sends what is pending (waiting up to {@code drain}) and stops the thread. Idempotent. */
    void close(Duration drain) {
        stopping = true;
        try {
            thread.join(drain.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            thread.interrupt();
            log.warn("{} acks were not sent to SQS at {} within {}; their messages will be delivered again",
                    pending.size(), endpoint.address(), drain);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }
}
