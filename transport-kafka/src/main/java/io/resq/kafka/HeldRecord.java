package io.resq.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A fetched record the receiver holds until it is acked: waiting to be handed out, or handed out
 * and unsettled. Immutable data plus two fields guarded by the {@link DeliveryBook}'s lock.
 */
final class HeldRecord {

    private final PartitionLedger ledger;
    private final long offset;
    private final String id;
    private final String key;
    private final Map<String, String> headers;
    private final byte[] body;

    /** Guarded by the book's lock: hand-outs so far. */
    int deliveries;
    /** Guarded by the book's lock: the unsettled hand-out, or {@code null} while waiting. */
    KafkaDelivery current;

    HeldRecord(PartitionLedger ledger, ConsumerRecord<byte[], byte[]> record) {
        this.ledger = ledger;
        this.offset = record.offset();
        String carried = HeaderMapping.last(record.headers(), HeaderMapping.ID);
        // A foreign record (no resq id) is named by its place in the log, stable across redeliveries.
        this.id = carried != null ? carried : record.topic() + "-" + record.partition() + "@" + record.offset();
        this.key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
        this.headers = HeaderMapping.fromKafka(record.headers());
        this.body = record.value() == null ? new byte[0] : record.value();
    }

    PartitionLedger ledger() {
        return ledger;
    }

    long offset() {
        return offset;
    }

    String id() {
        return id;
    }

    String key() {
        return key;
    }

    Map<String, String> headers() {
        return headers;
    }

    byte[] body() {
        return body;
    }

    String where() {
        return ledger.partition() + "@" + offset;
    }
}
