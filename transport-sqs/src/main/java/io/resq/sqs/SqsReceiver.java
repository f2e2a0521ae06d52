package io.resq.sqs;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;

/**
 * Receives from one SQS queue with long polling, up to 10 messages per request. A poll that finds
 * its buffer empty fetches enough for itself, topped up to {@code prefetch} unsettled deliveries;
 * the next polls are served from the buffer without a round trip. Buffered messages are invisible
 * to other consumers like handed-out ones (and kept so by the heartbeat); pause and close make
 * them visible again.
 *
 * <p>Threads: {@link #poll} runs on the one fetching thread. {@link #unsettled} is shared with the
 * settling threads (any thread may ack or release), with the transport's heartbeat thread (which
 * extends the visibility of unsettled deliveries so a slow handler keeps its message) and with
 * {@link #close()}; it is a concurrent set, and each delivery's own flag makes settling happen once.
 * {@code paused} and {@code closed} are flags any thread may flip; {@link #pauseLock} wakes a
 * poll that waits out a pause.
 */
final class SqsReceiver implements Receiver {

    private static final Logger log = LoggerFactory.getLogger(SqsReceiver.class);
    private static final int MAX_BATCH = 10;
    /** SQS's longest visibility timeout: a parked message is re-parked after this. */
    static final Duration MAX_VISIBILITY = Duration.ofHours(12);

    private final SqsTransport transport;
    private final SqsQueue queue;
    private final ReceiverOptions options;
    private final int visibilitySeconds;
    private final Set<SqsDelivery> unsettled = ConcurrentHashMap.newKeySet();
    /** Fetched, not yet handed out; also in {@link #unsettled}. Taken by the fetching thread, drained by pause and close. */
    private final ConcurrentLinkedQueue<SqsDelivery> buffer = new ConcurrentLinkedQueue<>();
    private final Object pauseLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean paused;

    SqsReceiver(SqsTransport transport, SqsQueue queue, ReceiverOptions options, int visibilitySeconds) {
        this.transport = transport;
        this.queue = queue;
        this.options = options;
        this.visibilitySeconds = visibilitySeconds;
    }

    @Override
    public List<Delivery> poll(int max, Duration wait) throws InterruptedException {
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, was " + max);
        }
        Objects.requireNonNull(wait, "wait must not be null");
        if (closed.get()) {
            throw new IllegalStateException("SQS receiver for queue '" + queue.physicalName() + "' is closed");
        }
        if (paused) {
            releaseBuffered();
            waitWhilePaused(wait);
            return List.of();
        }
        if (buffer.isEmpty()) {
            fetch(max, wait);
        }
        List<Delivery> out = new ArrayList<>(Math.min(max, buffer.size()));
        SqsDelivery d;
        while (out.size() < max && (d = buffer.poll()) != null) {
            if (!d.isSettled()) {
                out.add(d);
            }
        }
        return out;
    }

    /**
     * Fills the buffer: enough for this poll, topped up to {@code prefetch} unsettled deliveries,
     * in requests of 10; only the first request waits (long polling).
     */
    private void fetch(int max, Duration wait) throws InterruptedException {
        int handedOut = unsettled.size() - buffer.size();
        int want = Math.min(options.prefetch(), Math.max(max, options.prefetch() - handedOut));
        int waitSeconds = wait.isZero() ? 0 : (int) Math.min(transport.maxWaitSeconds(), Math.max(1, WireFormat.ceilSeconds(wait)));
        // SQS starts the visibility clock when it hands a message out, somewhere during the request:
        // counting from before the request errs on the safe side.
        long requestedAt = System.nanoTime();
        List<Message> messages = new ArrayList<>(receive(Math.min(MAX_BATCH, want), waitSeconds));
        // A full batch means there is probably more: fetch without waiting until we have enough.
        int last = messages.size();
        while (last == MAX_BATCH && messages.size() < want && !closed.get() && !paused) {
            List<Message> more = receive(Math.min(MAX_BATCH, want - messages.size()), 0);
            messages.addAll(more);
            last = more.size();
        }
        if (log.isTraceEnabled() && !messages.isEmpty()) {
            log.trace("received {} message(s) from '{}': {}", messages.size(), queue.physicalName(),
                    messages.stream().map(m -> WireFormat.id(m) + "#" + WireFormat.receiveCount(m)).toList());
        }
        long now = System.currentTimeMillis();
        List<SqsDelivery> fetched = new ArrayList<>(messages.size());
        for (Message m : messages) {
            long due = WireFormat.dueAt(m);
            if (due > now) {
                park(m, due - now);
                continue;
            }
            SqsDelivery d = new SqsDelivery(this, WireFormat.id(m), WireFormat.key(m), WireFormat.headers(m), WireFormat.body(m),
                    deliveryCount(m, due), m.receiptHandle(), requestedAt + TimeUnit.SECONDS.toNanos(visibilitySeconds));
            unsettled.add(d);
            fetched.add(d);
        }
        if (closed.get() || paused || Thread.currentThread().isInterrupted()) {
            // Closed or paused while we were fetching: hand back what we got rather than deliver it.
            releaseAll(fetched);
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while receiving from SQS queue '" + queue.physicalName() + "'");
            }
            return;
        }
        buffer.addAll(fetched);
    }

    /** Makes the fetched but not yet handed-out deliveries visible again, so a paused receiver holds nothing. */
    private void releaseBuffered() {
        List<SqsDelivery> held = new ArrayList<>();
        SqsDelivery d;
        while ((d = buffer.poll()) != null) {
            held.add(d);
        }
        releaseAll(held);
    }

    private List<Message> receive(int n, int waitSeconds) throws InterruptedException {
        try {
            ReceiveMessageResponse r = transport.client().receiveMessage(b -> b.queueUrl(queue.url())
                    .maxNumberOfMessages(n)
                    .waitTimeSeconds(waitSeconds)
                    .visibilityTimeout(visibilitySeconds)
                    .messageAttributeNames("All")
                    .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT,
                            MessageSystemAttributeName.APPROXIMATE_FIRST_RECEIVE_TIMESTAMP,
                            MessageSystemAttributeName.MESSAGE_GROUP_ID));
            return r.messages();
        } catch (AbortedException e) {
            InterruptedException ie = new InterruptedException("interrupted while receiving from SQS queue '" + queue.physicalName() + "'");
            ie.initCause(e);
            throw ie;
        } catch (RuntimeException e) {
            throw transport.failure("receiving from queue '" + queue.physicalName() + "'", e);
        }
    }

    /**
     * SQS's receive count, less the receives that only parked a delayed message (they are no
     * delivery): one per 12-hour park window between the first receive and the due time.
     */
    private static int deliveryCount(Message m, long due) {
        int count = WireFormat.receiveCount(m);
        long first = WireFormat.firstReceivedAt(m);
        if (due > 0 && first > 0 && first < due) {
            long parks = (due - first + MAX_VISIBILITY.toMillis() - 1) / MAX_VISIBILITY.toMillis();
            count -= (int) parks;
        }
        return Math.max(1, count);
    }

    /** Keeps a message that is not due yet invisible until it is (or for 12 hours, then again). */
    private void park(Message m, long remainingMillis) {
        int seconds = (int) Math.min(MAX_VISIBILITY.toSeconds(), (remainingMillis + 999) / 1000);
        try {
            transport.client().changeMessageVisibility(b -> b.queueUrl(queue.url()).receiptHandle(m.receiptHandle()).visibilityTimeout(seconds));
        } catch (RuntimeException e) {
            // It comes back after the receive's visibility timeout and is parked then.
            log.debug("could not park delayed message {} in '{}': {}", WireFormat.id(m), queue.physicalName(), e.toString());
        }
    }

    private void waitWhilePaused(Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        synchronized (pauseLock) {
            while (paused && !closed.get()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                TimeUnit.NANOSECONDS.timedWait(pauseLock, left);
            }
        }
    }

    /** Stops fetching and makes the fetched but not yet handed-out messages visible to other consumers. */
    @Override
    public void pause() {
        paused = true;
        releaseBuffered();
    }

    @Override
    public void resume() {
        synchronized (pauseLock) {
            paused = false;
            pauseLock.notifyAll();
        }
    }

    // ------------------------------------------------------------- settling, called by deliveries

    void forget(SqsDelivery d) {
        unsettled.remove(d);
    }

    void deleteLater(SqsDelivery d) {
        transport.acks().add(queue.url(), queue.physicalName(), d);
    }

    void makeVisible(SqsDelivery d) {
        try {
            transport.client().changeMessageVisibility(b -> b.queueUrl(queue.url()).receiptHandle(d.receiptHandle()).visibilityTimeout(0));
        } catch (RuntimeException e) {
            log.warn("could not release message {} in '{}' ({}); it comes back after its visibility timeout",
                    d.id(), queue.physicalName(), transport.endpoint().describe(null, e));
        }
    }

    /**
     * Heartbeat, on the transport's scheduler thread: gives every unsettled delivery whose
     * visibility has less than half of the timeout left a fresh timeout, so a slow handler keeps
     * its message and no other consumer receives it meanwhile.
     */
    void extendVisibility() {
        long now = System.nanoTime();
        long threshold = heartbeatThresholdNanos(visibilitySeconds);
        List<SqsDelivery> due = new ArrayList<>();
        for (SqsDelivery d : unsettled) {
            if (d.visibleUntilNanos - now < threshold) {
                due.add(d);
            }
        }
        if (due.isEmpty()) {
            return;
        }
        List<SqsDelivery> ok = changeVisibility(due, visibilitySeconds);
        for (SqsDelivery d : ok) {
            d.visibleUntilNanos = now + TimeUnit.SECONDS.toNanos(visibilitySeconds);
        }
        log.debug("extended the visibility of {} of {} unsettled message(s) in '{}'", ok.size(), due.size(), queue.physicalName());
    }

    /** How often the transport's heartbeat runs for a visibility timeout: a quarter of it, at least 250 ms. */
    static long heartbeatPeriodMillis(int visibilitySeconds) {
        return Math.max(250, TimeUnit.SECONDS.toMillis(visibilitySeconds) / 4);
    }

    /**
     * A delivery is extended when less than this is left: half the timeout, and at least two
     * heartbeat periods, so one late beat still lands before the message turns visible.
     */
    private static long heartbeatThresholdNanos(int visibilitySeconds) {
        return Math.max(TimeUnit.SECONDS.toNanos(visibilitySeconds) / 2,
                TimeUnit.MILLISECONDS.toNanos(2 * heartbeatPeriodMillis(visibilitySeconds)));
    }

    /** Settles and releases the given deliveries in batches (those not already settled). */
    private void releaseAll(List<SqsDelivery> deliveries) {
        List<SqsDelivery> mine = new ArrayList<>();
        for (SqsDelivery d : deliveries) {
            if (d.settle()) {
                mine.add(d);
            }
        }
        if (!mine.isEmpty()) {
            changeVisibility(mine, 0);
        }
    }

    /** ChangeMessageVisibilityBatch for the deliveries; returns those SQS accepted. */
    private List<SqsDelivery> changeVisibility(List<SqsDelivery> deliveries, int seconds) {
        List<SqsDelivery> ok = new ArrayList<>();
        for (int i = 0; i < deliveries.size(); i += MAX_BATCH) {
            List<SqsDelivery> chunk = deliveries.subList(i, Math.min(deliveries.size(), i + MAX_BATCH));
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>();
            for (int j = 0; j < chunk.size(); j++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id(Integer.toString(j))
                        .receiptHandle(chunk.get(j).receiptHandle()).visibilityTimeout(seconds).build());
            }
            try {
                List<BatchResultErrorEntry> failed = transport.client()
                        .changeMessageVisibilityBatch(b -> b.queueUrl(queue.url()).entries(entries)).failed();
                List<SqsDelivery> accepted = new ArrayList<>(chunk);
                for (BatchResultErrorEntry f : failed) {
                    accepted.remove(chunk.get(Integer.parseInt(f.id())));
                    log.debug("SQS refused a visibility change of message {} in '{}': {} {}",
                            chunk.get(Integer.parseInt(f.id())).id(), queue.physicalName(), f.code(), f.message());
                }
                ok.addAll(accepted);
            } catch (RuntimeException e) {
                log.warn("could not change the visibility of {} message(s) in '{}' to {}s ({}); they come back after their "
                        + "visibility timeout", chunk.size(), queue.physicalName(), seconds, transport.endpoint().describe(null, e));
            }
        }
        return ok;
    }

    /** Stops receiving and makes every unsettled delivery visible again. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        buffer.clear();
        releaseAll(new ArrayList<>(unsettled));
        transport.forget(this);
    }

    boolean isClosed() {
        return closed.get();
    }
}
