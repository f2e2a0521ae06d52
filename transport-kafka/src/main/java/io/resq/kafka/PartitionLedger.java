package io.resq.kafka;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.TopicPartition;

/**
 * What a receiver holds of one assigned partition, and the offset it may commit.
 *
 * <p>Every field is guarded by the owning {@link DeliveryBook}'s lock. Acks arrive out of order
 * (handlers run concurrently), so the commit point is the lowest offset still held, or, when
 * nothing is held, the offset after the last record taken from Kafka: everything below it was
 * acked. Offsets need not be contiguous (compaction, transaction markers), which is why the
 * ledger keeps the held offsets rather than counting.
 */
final class PartitionLedger {

    private final TopicPartition partition;
    /** Every unacked record: waiting or handed out. */
    final TreeMap<Long, HeldRecord> unacked = new TreeMap<>();
    /** The unacked records that wait to be handed out, in offset order. */
    final TreeMap<Long, HeldRecord> waiting = new TreeMap<>();
    /** Keys with a handed-out, unsettled record: their next record waits (per-key order). */
    final Set<String> busyKeys = new HashSet<>();
    /** Key and value bytes of the unacked records. */
    long heldBytes;
    /** The offset after the last record taken from Kafka; -1 before the first. */
    long fetchedUpTo = -1;
    /** The last offset committed (or sent for commit); -1 for none. */
    long committed = -1;
    /** Set when the partition was revoked or lost: late settles are ignored. */
    boolean gone;
    /** Set while a revocation waits for the handed-out records to settle: nothing more is handed out. */
    boolean revoking;
    /** Paused for backpressure: set at the hold limit, cleared at half of it (see {@link DeliveryBook#full}). */
    boolean full;

    PartitionLedger(TopicPartition partition) {
        this.partition = partition;
    }

    TopicPartition partition() {
        return partition;
    }

    /** The offset to commit: everything below it was acked. -1 when nothing was fetched yet. */
    long commitPoint() {
        return unacked.isEmpty() ? fetchedUpTo : unacked.firstKey();
    }
}
