package io.resq.sqs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;

/**
 * Batches acks into {@code DeleteMessageBatch} calls of up to 10 receipt handles, one lane per
 * queue.
 *
 * <p>Why lanes: a delete SQS throttles is retried with back-off by the SDK on the calling thread,
 * and then by this batcher. With one thread for all queues, one throttled queue held back the
 * deletes of every other queue until their visibility timeouts ran out and their messages were
 * handled again. Each queue with pending deletes now has at most one task of its own on a pool
 * ("resq-sqs-acks" threads, created on demand and ended after 30 s idle), so a slow or throttled
 * queue only delays itself. The number of threads is at most the number of queues with deletes
 * outstanding at the same moment.
 *
 * <p>Threads: any thread calls {@link #add}; a lane's deletes run on its one pool task at a time
 * ({@link Lane#scheduled} guards that). A delete SQS fails on its side is retried a few times; one
 * that still fails only means the message is delivered again after its visibility timeout
 * (at-least-once), which is logged at WARN. {@link #close(Duration)} sends what is pending, then
 * stops the pool.
 */
final class AckBatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AckBatcher.class);
    private static final int MAX_BATCH = 10;
    /**
     * Attempts per delete; with the back-off below a delete keeps being tried for about 3 s of
     * failures (a broker restart, a throttled burst) before its message is left to come back.
     */
    private static final int ATTEMPTS = 5;
    /** How long a lane waits for more acks before sending a partial batch: latency vs requests. */
    private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /** One receipt handle to delete. */
    private record Pending(String messageId, String receiptHandle, int attempt) {
    }

    private final SqsClient client;
    private final SqsEndpoint endpoint;
    private final Map<String, Lane> lanes = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor pool;
    private volatile boolean stopping;

    AckBatcher(SqsClient client, SqsEndpoint endpoint) {
        this.client = client;
        this.endpoint = endpoint;
        this.pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "resq-sqs-acks");
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues the delete of {@code receiptHandle} in {@code queue}; returns at once. */
    void add(SqsQueue queue, String messageId, String receiptHandle) {
        Lane lane = lanes.computeIfAbsent(queue.url(), u -> new Lane(queue));
        lane.outstanding.incrementAndGet();
        lane.pending.add(new Pending(messageId, receiptHandle, 1));
        lane.schedule();
    }

    /** Deletes not yet confirmed by SQS, over all queues. */
    int pendingCount() {
        int n = 0;
        for (Lane lane : lanes.values()) {
            n += lane.outstanding.get();
        }
        return n;
    }

    /** Sends what is pending (waiting up to {@code drain}) and stops the pool. Idempotent. */
    void close(Duration drain) {
        stopping = true;
        long deadline = System.nanoTime() + drain.toNanos();
        try {
            while (pendingCount() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int left = pendingCount();
        pool.shutdownNow();
        if (left > 0) {
            log.warn("{} acks were not sent to SQS at {} within {}; their messages will be delivered again",
                    left, endpoint.address(), drain);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }

    /** The deletes of one queue. {@code pending} is shared with every acking thread; the rest belongs to the lane's task. */
    private final class Lane {

        private final SqsQueue queue;
        private final LinkedBlockingQueue<Pending> pending = new LinkedBlockingQueue<>();
        /** True while a task of this lane is queued or running: at most one at a time. */
        private final AtomicBoolean scheduled = new AtomicBoolean();
        /** Deletes added and not yet done or given up, whether queued, being batched or being sent. */
        private final AtomicInteger outstanding = new AtomicInteger();

        Lane(SqsQueue queue) {
            this.queue = queue;
        }

        void schedule() {
            if (!scheduled.compareAndSet(false, true)) {
                return;
            }
            try {
                pool.execute(this::drain);
            } catch (RejectedExecutionException e) {
                // Only after close: the pending deletes are lost, their messages come back after the visibility timeout.
                scheduled.set(false);
            }
        }

        private void drain() {
            try {
                List<Pending> batch = new ArrayList<>(MAX_BATCH);
                Pending first;
                while ((first = pending.poll()) != null) {
                    batch.add(first);
                    long until = System.nanoTime() + LINGER_NANOS;
                    while (batch.size() < MAX_BATCH) {
                        Pending next = pending.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
                        if (next == null) {
                            break;
                        }
                        batch.add(next);
                    }
                    try {
                        delete(batch);
                    } catch (RuntimeException e) {
                        outstanding.addAndGet(-batch.size());
                        log.warn("deleting {} acked message(s) from SQS queue '{}' failed unexpectedly; they will be delivered again",
                                batch.size(), queue.physicalName(), e);
                    } finally {
                        batch.clear();
                    }
                }
            } catch (InterruptedException e) {
                // close() stops the pool only after its drain deadline: give up on what is left.
                Thread.currentThread().interrupt();
            } finally {
                scheduled.set(false);
                // An ack added after the last poll and before the flag was cleared would wait for the next one: not with this.
                if (!pending.isEmpty() && !Thread.currentThread().isInterrupted()) {
                    schedule();
                }
            }
        }

        private void delete(List<Pending> chunk) throws InterruptedException {
            List<DeleteMessageBatchRequestEntry> entries = new ArrayList<>(chunk.size());
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(i)).receiptHandle(chunk.get(i).receiptHandle()).build());
            }
            try {
                DeleteMessageBatchResponse response = client.deleteMessageBatch(r -> r.queueUrl(queue.url()).entries(entries));
                outstanding.addAndGet(-response.successful().size());
                for (BatchResultErrorEntry failed : response.failed()) {
                    retryOrGiveUp(chunk.get(Integer.parseInt(failed.id())), failed.code() + " " + failed.message(),
                            !Boolean.TRUE.equals(failed.senderFault()));
                }
            } catch (RuntimeException e) {
                String cause = endpoint.describe("deleting " + chunk.size() + " acked message(s) from '" + queue.physicalName() + "'", e);
                int attempt = chunk.get(0).attempt();
                for (Pending p : chunk) {
                    retryOrGiveUp(p, cause, true);
                }
                if (!stopping) {
                    // This queue is struggling: back off (200 ms, doubling) rather than spin; other lanes go on.
                    Thread.sleep(Math.min(2000L, 100L << attempt));
                }
            }
        }

        private void retryOrGiveUp(Pending p, String cause, boolean retryable) {
            if (retryable && p.attempt() < ATTEMPTS) {
                pending.add(new Pending(p.messageId(), p.receiptHandle(), p.attempt() + 1));
            } else {
                outstanding.decrementAndGet();
                log.warn("could not delete acked message {} from SQS queue '{}' ({}); it will be delivered again after its "
                        + "visibility timeout", p.messageId(), queue.physicalName(), cause);
            }
        }
    }
}
