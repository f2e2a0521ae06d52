package io.resq.sqs;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;

/**
 * Receives from one SQS queue with long polling, up to 10 messages per request. A poll that finds
 * its buffer empty fetches enough for itself, topped up to {@code prefetch} unsettled deliveries;
 * the next polls are served from the buffer without a round trip. Buffered messages are invisible
 * to other consumers like handed-out ones (and kept so by the heartbeat); pause and close make
 * them visible again.
 *
 * <p>Messages received before their due time ({@link WireFormat#DUE}): on a standard queue they
 * hop on with {@code DelaySeconds} ({@link DelayHops}) and are not in flight while they wait; on
 * a FIFO queue they are parked, kept invisible until due, at most {@code maxParked} at a time
 * ({@link ParkedMessages}), and the messages of the same group that came after them in the same
 * receive are made visible again at once: SQS then holds them back behind the parked one, whose
 * group stays locked while it is in flight, so a group's order holds around a delayed redelivery.
 * FIFO receives carry a receive-request attempt id ({@link ReceiveAttempts}).
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
    /** How many sent-back message ids a receiver remembers to keep their delivery count right. */
    private static final int SENT_BACK_REMEMBERED = 10_000;
    private static final long PARK_LIMIT_LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

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
    /** FIFO: messages this receiver parked until due. Fetching thread only. */
    private final ParkedMessages parked;
    /** FIFO: attempt ids, so a receive whose answer was lost can be repeated. Fetching thread only; null on standard queues. */
    private final ReceiveAttempts attempts;
    /** SQS message id to how often it was sent back behind a parked message; bounded, oldest dropped. Fetching thread only. */
    private final Map<String, Integer> sentBack = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
            return size() > SENT_BACK_REMEMBERED;
        }
    };
    /** When the park limit was last logged, so a receiver at its limit logs once a minute. Fetching thread only. */
    private long parkLimitLoggedAt = System.nanoTime() - PARK_LIMIT_LOG_INTERVAL_NANOS;

    SqsReceiver(SqsTransport transport, SqsQueue queue, ReceiverOptions options, int visibilitySeconds, int maxParked) {
        this.transport = transport;
        this.queue = queue;
        this.options = options;
        this.visibilitySeconds = visibilitySeconds;
        this.parked = new ParkedMessages(maxParked);
        this.attempts = queue.fifo() ? new ReceiveAttempts() : null;
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
     * in requests of 10; only the first request waits (long polling). On a FIFO queue no more is
     * asked for than may still be parked (see {@link ParkedMessages}); with none left to park,
     * nothing is received until a parked message turns visible again.
     */
    private void fetch(int max, Duration wait) throws InterruptedException {
        int handedOut = unsettled.size() - buffer.size();
        int want = Math.min(options.prefetch(), Math.max(max, options.prefetch() - handedOut));
        if (queue.fifo()) {
            int room = parked.room(System.currentTimeMillis());
            if (room == 0) {
                waitForParkRoom(wait);
                return;
            }
            want = Math.min(want, room);
        }
        int waitSeconds = wait.isZero() ? 0 : (int) Math.min(transport.maxWaitSeconds(), Math.max(1, WireFormat.ceilSeconds(wait)));
        // SQS starts the visibility clock when it hands a message out, somewhere during the request:
        // counting from before the request errs on the safe side.
        long requestedAt = System.nanoTime();
        List<Message> messages = new ArrayList<>(receive(Math.min(MAX_BATCH, want), waitSeconds));
        // A full batch means there is probably more: fetch without waiting until we have enough.
        int last = messages.size();
        while (last == MAX_BATCH && messages.size() < want && !closed.get() && !paused) {
            List<Message> more;
            try {
                more = receive(Math.min(MAX_BATCH, want - messages.size()), 0);
            } catch (SqsTransportException e) {
                // Keep what the earlier requests returned (thrown away, it would stay invisible until its
                // visibility timeout, and on a FIFO queue its groups with it); the next fetch meets the failure again.
                log.debug("stopped fetching more from '{}' after {} message(s): {}", queue.physicalName(), messages.size(), e.getMessage());
                break;
            }
            messages.addAll(more);
            last = more.size();
        }
        if (log.isTraceEnabled() && !messages.isEmpty()) {
            log.trace("received {} message(s) from '{}': {}", messages.size(), queue.physicalName(),
                    messages.stream().map(m -> WireFormat.id(m) + "#" + WireFormat.receiveCount(m)).toList());
        }
        long now = System.currentTimeMillis();
        List<SqsDelivery> fetched = new ArrayList<>(messages.size());
        List<Message> hops = new ArrayList<>();
        // FIFO: the groups in which this fetch parked a message. SQS returns a group's messages in
        // order, so those after the parked one in this batch must wait for it: they go back at once
        // and, their group locked by the parked message, come back after it.
        Set<String> parkedGroups = new HashSet<>();
        List<Message> behindParked = new ArrayList<>();
        for (Message m : messages) {
            String group = queue.fifo() ? m.attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID) : null;
            if (group != null && parkedGroups.contains(group)) {
                behindParked.add(m);
                continue;
            }
            long due = WireFormat.dueAt(m);
            if (due > now) {
                if (queue.fifo()) {
                    park(m, due - now, now);
                    if (group != null) {
                        parkedGroups.add(group);
                    }
                } else {
                    hops.add(m);
                }
                continue;
            }
            SqsDelivery d = new SqsDelivery(this, WireFormat.id(m), WireFormat.key(m), WireFormat.headers(m), WireFormat.body(m),
                    deliveryCount(m, due), m.receiptHandle(), requestedAt + TimeUnit.SECONDS.toNanos(visibilitySeconds));
            unsettled.add(d);
            fetched.add(d);
        }
        if (!behindParked.isEmpty()) {
            sendBackBehindParked(behindParked);
        }
        if (!hops.isEmpty()) {
            DelayHops.hop(transport, queue, hops, now);
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

    /**
     * Makes messages that came behind a parked one of their group visible again at once. Each such
     * receive counts in {@code ApproximateReceiveCount}; the receiver remembers them so the delivery
     * count it reports does not grow (another receiver that gets them will count one more).
     */
    private void sendBackBehindParked(List<Message> behind) {
        List<String> ids = new ArrayList<>(behind.size());
        List<String> handles = new ArrayList<>(behind.size());
        for (Message m : behind) {
            ids.add(WireFormat.id(m));
            handles.add(m.receiptHandle());
            sentBack.merge(m.messageId(), 1, Integer::sum);
        }
        int ok = 0;
        // A refusal is harmless for order: the message stays invisible until its visibility timeout, its group locked meanwhile.
        for (boolean accepted : changeVisibility(ids, handles, 0, "send back (behind a parked message of its group)",
                "it comes back after its visibility timeout")) {
            ok += accepted ? 1 : 0;
        }
        log.debug("{} message(s) of '{}' came behind a parked message of their group: {} made visible again to keep group order",
                behind.size(), queue.physicalName(), ok);
    }

    /** A FIFO receiver with as many parked messages as it may hold waits, without receiving, for one to turn visible. */
    private void waitForParkRoom(Duration wait) throws InterruptedException {
        long now = System.currentTimeMillis();
        long sleep = Math.min(wait.toMillis(), Math.max(1, parked.millisToNextExpiry(now)));
        if (System.nanoTime() - parkLimitLoggedAt >= PARK_LIMIT_LOG_INTERVAL_NANOS) {
            parkLimitLoggedAt = System.nanoTime();
            log.warn("receiver of FIFO queue '{}' has {} delayed messages parked, its limit (SqsTransport.Builder.maxParked): it "
                    + "receives nothing more until one is due; raise the limit if the queue's in-flight quota allows", queue.physicalName(),
                    parked.count(now));
        }
        synchronized (pauseLock) {
            if (!closed.get() && !paused && sleep > 0) {
                pauseLock.wait(sleep);
            }
        }
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
        UnaryOperator<ReceiveMessageRequest.Builder> build = b -> b.queueUrl(queue.url())
                .maxNumberOfMessages(n)
                .waitTimeSeconds(waitSeconds)
                .visibilityTimeout(visibilitySeconds)
                .messageAttributeNames("All")
                .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT,
                        MessageSystemAttributeName.APPROXIMATE_FIRST_RECEIVE_TIMESTAMP,
                        MessageSystemAttributeName.MESSAGE_GROUP_ID);
        ReceiveMessageRequest request = attempts != null ? attempts.next(build) : build.apply(ReceiveMessageRequest.builder()).build();
        try {
            ReceiveMessageResponse r = transport.client().receiveMessage(request);
            if (attempts != null) {
                attempts.answered();
            }
            return r.messages();
        } catch (AbortedException e) {
            if (attempts != null) {
                attempts.failed(request, e);
            }
            InterruptedException ie = new InterruptedException("interrupted while receiving from SQS queue '" + queue.physicalName() + "'");
            ie.initCause(e);
            throw ie;
        } catch (RuntimeException e) {
            if (attempts != null) {
                attempts.failed(request, e);
            }
            throw transport.failure("receiving from queue '" + queue.physicalName() + "'", e);
        }
    }

    /**
     * SQS's receive count, less the receives that only parked a delayed message (they are no
     * delivery): one per 12-hour park window between the first receive and the due time; and
     * less the times this receiver sent the message back unseen because it came behind a parked
     * message of its group.
     */
    private int deliveryCount(Message m, long due) {
        Integer timesSentBack = sentBack.remove(m.messageId());
        int count = WireFormat.receiveCount(m) - (timesSentBack == null ? 0 : timesSentBack);
        long first = WireFormat.firstReceivedAt(m);
        if (due > 0 && first > 0 && first < due) {
            long parks = (due - first + MAX_VISIBILITY.toMillis() - 1) / MAX_VISIBILITY.toMillis();
            count -= (int) parks;
        }
        return Math.max(1, count);
    }

    /**
     * FIFO only: keeps a message that is not due yet invisible until it is (or for 12 hours, then
     * again), counted in {@link #parked}. FIFO queues refuse {@code DelaySeconds}, and a re-send
     * would move the message behind later ones of its group.
     */
    private void park(Message m, long remainingMillis, long nowMillis) {
        int seconds = (int) Math.min(MAX_VISIBILITY.toSeconds(), (remainingMillis + 999) / 1000);
        try {
            transport.client().changeMessageVisibility(b -> b.queueUrl(queue.url()).receiptHandle(m.receiptHandle()).visibilityTimeout(seconds));
            parked.add(nowMillis + TimeUnit.SECONDS.toMillis(seconds));
        } catch (RuntimeException e) {
            // Harmless: it comes back after the receive's visibility timeout and is parked then; until then it still holds its group.
            parked.add(nowMillis + TimeUnit.SECONDS.toMillis(visibilitySeconds));
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
        transport.acks().add(queue, d.id(), d.receiptHandle());
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
            if (!d.extensionRefused && d.visibleUntilNanos - now < threshold) {
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
        List<String> ids = new ArrayList<>(deliveries.size());
        List<String> handles = new ArrayList<>(deliveries.size());
        for (SqsDelivery d : deliveries) {
            ids.add(d.id());
            handles.add(d.receiptHandle());
        }
        boolean[] accepted = seconds > 0
                ? changeVisibility(ids, handles, seconds, "extend the visibility of",
                        "its handler is still running, yet another consumer may receive it once its visibility timeout ends, and its "
                                + "ack will then fail; make the visibility timeout longer than most handlers take")
                : changeVisibility(ids, handles, seconds, "make visible again",
                        "it comes back after its visibility timeout instead of at once");
        List<SqsDelivery> ok = new ArrayList<>(deliveries.size());
        for (int i = 0; i < deliveries.size(); i++) {
            if (accepted[i]) {
                ok.add(deliveries.get(i));
            } else if (seconds > 0) {
                // Refused extensions are not asked for again (SQS refuses a receipt handle that is no
                // longer valid each time): the delivery keeps what it has and is logged once.
                deliveries.get(i).extensionRefused = true;
            }
        }
        return ok;
    }

    /**
     * ChangeMessageVisibilityBatch for the receipt handles, in chunks of 10; returns for each
     * whether SQS accepted it. Every refusal and every failed call is logged at WARN with the
     * message id, SQS's reason and {@code consequence}: a refused change means the message does not
     * do what the transport intended.
     */
    private boolean[] changeVisibility(List<String> ids, List<String> handles, int seconds, String action, String consequence) {
        boolean[] accepted = new boolean[handles.size()];
        for (int i = 0; i < handles.size(); i += MAX_BATCH) {
            int from = i;
            int to = Math.min(handles.size(), i + MAX_BATCH);
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>(to - from);
            for (int j = from; j < to; j++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id(Integer.toString(j - from))
                        .receiptHandle(handles.get(j)).visibilityTimeout(seconds).build());
            }
            try {
                List<BatchResultErrorEntry> failed = transport.client()
                        .changeMessageVisibilityBatch(b -> b.queueUrl(queue.url()).entries(entries)).failed();
                for (int j = from; j < to; j++) {
                    accepted[j] = true;
                }
                for (BatchResultErrorEntry f : failed) {
                    int j = from + Integer.parseInt(f.id());
                    accepted[j] = false;
                    log.warn("SQS refused to {} message {} in '{}' ({} {}): {}", action, ids.get(j), queue.physicalName(), f.code(),
                            f.message(), consequence);
                }
            } catch (RuntimeException e) {
                log.warn("could not {} {} message(s) in '{}' ({}): {}", action, to - from, queue.physicalName(),
                        transport.endpoint().describe(null, e), consequence);
            }
        }
        return accepted;
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
