package io.resq.kafka;

import io.resq.ResqException;
import io.resq.spi.Delivery;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The records one receiver holds, shared by three kinds of threads:
 * <ul>
 *   <li>the poll loop (the only thread that touches the {@code KafkaConsumer}) adds fetched
 *       records, learns which partitions are full and which offsets to commit;</li>
 *   <li>the receiving thread takes records to hand out ({@link #take});</li>
 *   <li>any thread settles a delivery ({@link #settle}).</li>
 * </ul>
 * Every field is guarded by {@link #lock}. Nothing here blocks on Kafka, so a slow handler or a
 * slow receiving thread never delays the poll loop.
 */
final class DeliveryBook {

    private static final Logger LOG = LoggerFactory.getLogger(DeliveryBook.class);

    private final String topic;
    /** What a partition may hold before the loop pauses it. */
    private final HoldLimit holdLimit;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when records become available, and on pause, resume, failure and close. */
    private final Condition forTakers = lock.newCondition();
    /** Signalled when the loop may have something to do: a settle that unpauses a partition, a resume, a close. */
    private final Condition forLoop = lock.newCondition();
    /** Signalled on a settle of a partition being revoked: the loop waits for those before it commits. */
    private final Condition forRevocation = lock.newCondition();
    private final Map<TopicPartition, PartitionLedger> ledgers = new LinkedHashMap<>();
    private boolean paused;
    private boolean closing;
    private boolean finished;
    private RuntimeException failure;
    /** Written by the loop thread only, read by health checks: no lock needed. */
    private volatile RuntimeException degradedBy;
    private int rotation;

    DeliveryBook(String topic, HoldLimit holdLimit) {
        this.topic = topic;
        this.holdLimit = holdLimit;
    }

    // ------------------------------------------------------------ any thread

    void pause(boolean pause) {
        lock.lock();
        try {
            paused = pause;
            forTakers.signalAll();
            forLoop.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean paused() {
        lock.lock();
        try {
            return paused;
        } finally {
            lock.unlock();
        }
    }

    /** Stops hand-outs; the loop then commits what was acked and leaves. */
    void close() {
        lock.lock();
        try {
            closing = true;
            forTakers.signalAll();
            forLoop.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean closing() {
        lock.lock();
        try {
            return closing;
        } finally {
            lock.unlock();
        }
    }

    /** The partitions this book holds records of. */
    List<TopicPartition> assignedPartitions() {
        lock.lock();
        try {
            return new ArrayList<>(ledgers.keySet());
        } finally {
            lock.unlock();
        }
    }

    /** The loop is recreating its consumer after {@code error} ({@code null}: it polls again); health reports it. */
    void degraded(RuntimeException error) {
        degradedBy = error;
    }

    /** The error the loop is recovering from, or {@code null}. */
    RuntimeException degradedBy() {
        return degradedBy;
    }

    /** Records the loop's fatal error: takers get it instead of waiting for records that cannot come. */
    void fail(RuntimeException error) {
        lock.lock();
        try {
            failure = error;
            forTakers.signalAll();
        } finally {
            lock.unlock();
        }
    }

    RuntimeException failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** Acks or releases a hand-out; a second settle, or one after its partition was revoked, is ignored. */
    void settle(KafkaDelivery d, boolean ack) {
        lock.lock();
        try {
            HeldRecord h = d.held();
            PartitionLedger ledger = h.ledger();
            if (h.current != d || ledger.gone || finished) {
                LOG.debug("Ignoring a late {} of {}: already settled, or its partition moved or the receiver closed",
                        ack ? "ack" : "release", d);
                return;
            }
            h.current = null;
            if (h.key() != null) {
                ledger.busyKeys.remove(h.key());
            }
            if (ack) {
                ledger.unacked.remove(h.offsetKey());
                ledger.heldBytes -= h.size();
            } else {
                ledger.waiting.put(h.offsetKey(), h);
            }
            // A taker can use this settle only if it put a record back or freed a key that a
            // waiting record has; waking it on every ack would cost a park and unpark each.
            if (!ack || (h.key() != null && !ledger.waiting.isEmpty())) {
                forTakers.signalAll();
            }
            if (ledger.revoking) {
                forRevocation.signalAll();
            }
            if (ledger.full && holdLimit.backToHalf(ledger.unacked.size(), ledger.heldBytes)) {
                // Only this settle lets the loop resume a paused partition; waking it on every
                // settle would spend a core on empty loop turns.
                forLoop.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------ receiving thread

    /**
     * Hands out up to {@code max} waiting records, oldest first per partition, skipping records
     * whose key has an unsettled hand-out; waits up to {@code waitNanos} for one.
     */
    List<Delivery> take(int max, long waitNanos) throws InterruptedException {
        long deadline = System.nanoTime() + waitNanos;
        lock.lockInterruptibly();
        try {
            while (true) {
                if (failure != null) {
                    throw new ResqException("Kafka receiver for topic '" + topic + "' failed: " + failure.getMessage(), failure);
                }
                if (closing) {
                    throw new IllegalStateException("Kafka receiver for topic '" + topic + "' is closed");
                }
                if (!paused) {
                    List<Delivery> out = collect(max);
                    if (!out.isEmpty()) {
                        return out;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return List.of();
                }
                forTakers.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    private List<Delivery> collect(int max) {
        List<Delivery> out = new ArrayList<>(Math.min(max, 256));
        List<PartitionLedger> all = new ArrayList<>(ledgers.values());
        int n = all.size();
        int start = n == 0 ? 0 : Math.floorMod(rotation++, n);
        for (int i = 0; i < n && out.size() < max; i++) {
            PartitionLedger ledger = all.get((start + i) % n);
            if (ledger.revoking) {
                continue;
            }
            Iterator<HeldRecord> it = ledger.waiting.values().iterator();
            while (it.hasNext() && out.size() < max) {
                HeldRecord h = it.next();
                if (h.key() != null && !ledger.busyKeys.add(h.key())) {
                    continue;
                }
                it.remove();
                h.deliveries++;
                h.current = new KafkaDelivery(this, h, h.deliveries);
                out.add(h.current);
            }
        }
        return out;
    }

    // ------------------------------------------------------------ poll loop

    void assigned(Collection<TopicPartition> partitions) {
        lock.lock();
        try {
            for (TopicPartition tp : partitions) {
                ledgers.computeIfAbsent(tp, PartitionLedger::new);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops handing out records of {@code partitions} and waits, up to {@code waitNanos}, until
     * every record already handed out of them is settled, so that the commit that follows covers
     * their acks and the partitions' next owner does not run them a second time. Records not yet
     * handed out stay unacked: the next owner reads them from the committed offset. Returns how
     * many hand-outs were still unsettled when the wait ended.
     */
    int drainForRevocation(Collection<TopicPartition> partitions, long waitNanos) throws InterruptedException {
        long deadline = System.nanoTime() + waitNanos;
        lock.lockInterruptibly();
        try {
            List<PartitionLedger> revoking = new ArrayList<>();
            for (TopicPartition tp : partitions) {
                PartitionLedger ledger = ledgers.get(tp);
                if (ledger != null) {
                    ledger.revoking = true;
                    revoking.add(ledger);
                }
            }
            while (true) {
                int running = 0;
                for (PartitionLedger l : revoking) {
                    running += l.unacked.size() - l.waiting.size();
                }
                long left = deadline - System.nanoTime();
                if (running == 0 || left <= 0 || finished) {
                    return running;
                }
                forRevocation.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Forgets revoked or lost partitions: waiting records are dropped and late settles of their
     * hand-outs ignored (the next owner gets them again from the committed offset). Returns the
     * offsets that are safe to commit for them, or nothing when {@code commit} is false (lost).
     */
    Map<TopicPartition, OffsetAndMetadata> revoke(Collection<TopicPartition> partitions, boolean commit) {
        lock.lock();
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (TopicPartition tp : partitions) {
                PartitionLedger ledger = ledgers.remove(tp);
                if (ledger == null) {
                    continue;
                }
                ledger.gone = true;
                // After finish() the final offsets were already committed (close revokes again).
                if (commit && !finished && ledger.commitPoint() >= 0) {
                    offsets.put(tp, new OffsetAndMetadata(ledger.commitPoint()));
                }
            }
            return offsets;
        } finally {
            lock.unlock();
        }
    }

    /** Adds records fetched from {@code tp}; {@code fetchedUpTo} is where the consumer now reads. */
    void add(TopicPartition tp, List<ConsumerRecord<byte[], byte[]>> records, long fetchedUpTo) {
        lock.lock();
        try {
            PartitionLedger ledger = ledgers.computeIfAbsent(tp, PartitionLedger::new);
            for (ConsumerRecord<byte[], byte[]> r : records) {
                HeldRecord h = new HeldRecord(ledger, r);
                ledger.unacked.put(h.offsetKey(), h);
                ledger.waiting.put(h.offsetKey(), h);
                ledger.heldBytes += h.size();
            }
            ledger.fetchedUpTo = Math.max(ledger.fetchedUpTo, fetchedUpTo);
            if (!records.isEmpty()) {
                forTakers.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Adds an empty stand-in for the record at {@code offset} of {@code tp} that the consumer could
     * not read; handed out like any record, it is dead-lettered with {@code reason} and its ack
     * lets the commit move past it.
     */
    void addUnreadable(TopicPartition tp, long offset, String reason) {
        lock.lock();
        try {
            PartitionLedger ledger = ledgers.computeIfAbsent(tp, PartitionLedger::new);
            HeldRecord h = new HeldRecord(ledger, new ConsumerRecord<>(tp.topic(), tp.partition(), offset, null, null), reason);
            ledger.unacked.put(offset, h);
            ledger.waiting.put(offset, h);
            ledger.fetchedUpTo = Math.max(ledger.fetchedUpTo, offset + 1);
            forTakers.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Partitions to keep paused for backpressure: a partition becomes full at the hold limit and
     * stays full until it holds no more than half of it. Resuming at half rather than one below
     * the limit leaves work in hand while the resumed partition's fetch waits behind the one in
     * flight (up to {@code fetch.max.wait.ms} when the other partitions are idle), so the handlers
     * do not run dry on every cycle.
     */
    Set<TopicPartition> full() {
        lock.lock();
        try {
            Set<TopicPartition> out = new HashSet<>();
            ledgers.forEach((tp, l) -> {
                if (holdLimit.reached(l.unacked.size(), l.heldBytes)) {
                    l.full = true;
                } else if (holdLimit.backToHalf(l.unacked.size(), l.heldBytes)) {
                    l.full = false;
                }
                if (l.full) {
                    out.add(tp);
                }
            });
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The broker refused the commit of {@code offsets}: unless a later commit of a partition was
     * sent meanwhile (it covers the same records), the next {@link #commitsDue()} sends it again.
     */
    void commitFailed(Map<TopicPartition, OffsetAndMetadata> offsets) {
        lock.lock();
        try {
            offsets.forEach((tp, o) -> {
                PartitionLedger l = ledgers.get(tp);
                if (l != null && !l.gone && l.committed == o.offset()) {
                    l.committed = -1;
                }
            });
        } finally {
            lock.unlock();
        }
    }

    /** Offsets that moved since the last call (or whose commit failed); they are then taken as committed. */
    Map<TopicPartition, OffsetAndMetadata> commitsDue() {
        lock.lock();
        try {
            Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
            for (PartitionLedger l : ledgers.values()) {
                long point = l.commitPoint();
                if (point > l.committed) {
                    out.put(l.partition(), new OffsetAndMetadata(point));
                    l.committed = point;
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The final offsets to commit; later settles are ignored (those records come back to the next owner). */
    Map<TopicPartition, OffsetAndMetadata> finish() {
        lock.lock();
        try {
            finished = true;
            closing = true;
            Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
            for (PartitionLedger l : ledgers.values()) {
                if (l.commitPoint() >= 0) {
                    out.put(l.partition(), new OffsetAndMetadata(l.commitPoint()));
                }
                l.gone = true;
            }
            forTakers.signalAll();
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Parks the loop until a settle, resume or close, or {@code nanos} passed. */
    void awaitLoopWork(long nanos) throws InterruptedException {
        lock.lock();
        try {
            if (!closing && nanos > 0) {
                forLoop.awaitNanos(nanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** How many records are held (waiting or handed out), for health and tests. */
    int held() {
        lock.lock();
        try {
            int n = 0;
            for (PartitionLedger l : ledgers.values()) {
                n += l.unacked.size();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    static long millis(long ms) {
        return TimeUnit.MILLISECONDS.toNanos(ms);
    }
}
