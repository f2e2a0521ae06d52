package io.resq.kafka;

import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A fetched record the receiver holds until it is acked: waiting to be handed out, or handed out
 * and unsettled. The record itself, its id, key and headers decoded on first use, plus two fields
 * guarded by the {@link DeliveryBook}'s lock.
 */
final class HeldRecord {

    private static final byte[] EMPTY = new byte[0];

    private final PartitionLedger ledger;
    private final ConsumerRecord<byte[], byte[]> record;
    /** The offset, boxed once: the ledger's maps are keyed by it on add, settle and release. */
    private final Long offsetKey;
    /** Why the record could not be read (it stands in for a damaged one), or {@code null}. */
    private final String unreadable;
    // Decoded from the record on first use, by whichever thread asks (the decoding is idempotent
    // and the results immutable): not on the poll loop, which must get back to polling.
    private volatile String id;
    private volatile String key;
    private volatile Map<String, String> headers;

    /** Guarded by the book's lock: hand-outs so far. */
    int deliveries;
    /** Guarded by the book's lock: the unsettled hand-out, or {@code null} while waiting. */
    KafkaDelivery current;

    HeldRecord(PartitionLedger ledger, ConsumerRecord<byte[], byte[]> record) {
        this(ledger, record, null);
    }

    /** A record, or with a non-null {@code unreadable} the empty stand-in for one the consumer could not read. */
    HeldRecord(PartitionLedger ledger, ConsumerRecord<byte[], byte[]> record, String unreadable) {
        this.ledger = ledger;
        this.record = record;
        this.offsetKey = record.offset();
        this.unreadable = unreadable;
    }

    String unreadable() {
        return unreadable;
    }

    PartitionLedger ledger() {
        return ledger;
    }

    long offset() {
        return record.offset();
    }

    /** {@link #offset()} as the ledger's map key. */
    Long offsetKey() {
        return offsetKey;
    }

    String id() {
        String value = id;
        if (value == null) {
            // From the decoded headers (a repeated name keeps its last value there too): reading
            // the record's headers again would decode every header name a second time.
            String carried = headers().get(HeaderMapping.ID);
            // A foreign record (no resq id) is named by its place in the log, stable across redeliveries.
            value = carried != null && !carried.isEmpty() ? carried : record.topic() + "-" + record.partition() + "@" + record.offset();
            id = value;
        }
        return value;
    }

    String key() {
        String value = key;
        if (value == null && record.key() != null) {
            value = BinaryText.toText(record.key());
            key = value;
        }
        return value;
    }

    Map<String, String> headers() {
        Map<String, String> value = headers;
        if (value == null) {
            value = HeaderMapping.fromKafka(record.headers());
            headers = value;
        }
        return value;
    }

    /** The body as fetched, shared by every hand-out: never written (see {@code Delivery#body()}). */
    byte[] body() {
        return record.value() == null ? EMPTY : record.value();
    }

    /** Key and value bytes, for the hold limit. */
    int size() {
        return Math.max(0, record.serializedKeySize()) + Math.max(0, record.serializedValueSize());
    }

    String where() {
        return ledger.partition() + "@" + record.offset();
    }
}
