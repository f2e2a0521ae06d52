package io.resq.kafka;

import io.resq.ResqException;
import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.HashSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Headers;

/**
 * Sends to one topic through the transport's shared {@link Producer} (thread-safe, batching).
 * A delayed message goes to the retry topic with its due time in a header; the receiver of the
 * topic holds it back until then.
 */
final class KafkaSender implements Sender {

    private final KafkaTransport transport;
    private final String topic;

    KafkaSender(KafkaTransport transport, String topic) {
        this.transport = transport;
        this.topic = topic;
    }

    @Override
    public CompletableFuture<Void> send(List<Outbound> messages) {
        if (messages == null || messages.isEmpty()) {
            return messages == null
                    ? CompletableFuture.failedFuture(new IllegalArgumentException("messages must not be null"))
                    : CompletableFuture.completedFuture(null);
        }
        if (transport.isClosed()) {
            return CompletableFuture.failedFuture(closed());
        }
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(messages.size());
        try {
            long now = System.currentTimeMillis();
            // Made only for records bound to a retry topic: most sends go to the topic itself.
            Set<String> targets = null;
            for (Outbound m : messages) {
                ProducerRecord<byte[], byte[]> r = toRecord(m, now);
                records.add(r);
                if (!r.topic().equals(topic)) {
                    if (targets == null) {
                        targets = new HashSet<>();
                    }
                    targets.add(r.topic());
                }
            }
            if (targets != null) {
                transport.ensureTopics(targets, topic);
                refuseDelaysBeyondRetention(messages, records);
            }
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }

        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicInteger remaining = new AtomicInteger(records.size());
        Producer<byte[], byte[]> producer = transport.producer();
        for (int i = 0; i < records.size(); i++) {
            Outbound m = messages.get(i);
            ProducerRecord<byte[], byte[]> record = records.get(i);
            try {
                // The callback runs on the producer's I/O thread: it only completes futures.
                producer.send(record, (metadata, error) -> {
                    if (error != null) {
                        done.completeExceptionally(failure(m, record, error));
                    } else if (remaining.decrementAndGet() == 0) {
                        done.complete(null);
                    }
                });
            } catch (IllegalStateException e) {
                done.completeExceptionally(transport.isClosed() ? closed() : e);
                break;
            } catch (RuntimeException e) {
                done.completeExceptionally(failure(m, record, e));
                break;
            }
        }
        return done;
    }

    private ProducerRecord<byte[], byte[]> toRecord(Outbound m, long now) {
        int limit = transport.maxBodySize();
        if (m.body().length > limit) {
            throw new IllegalArgumentException("message " + m.id() + " has a body of " + m.body().length
                    + " bytes, over the Kafka limit of " + limit + " bytes for topic '" + topic + "' ("
                    + transport.limitExplanation() + ")");
        }
        long due = m.delay().isZero() ? 0 : now + m.delay().toMillis();
        Headers headers = HeaderMapping.toKafka(m.headers(), m.id(), due);
        byte[] key = m.key() == null ? null : BinaryText.toBytes(m.key());
        int recordSize = m.body().length + (key == null ? 0 : key.length) + HeaderMapping.size(headers) + KafkaTransport.FRAMING_BYTES;
        if (recordSize > transport.maxRecordSize()) {
            throw new IllegalArgumentException("message " + m.id() + " would be a Kafka record of about " + recordSize
                    + " bytes (body " + m.body().length + ", key and headers included), over the limit of "
                    + transport.maxRecordSize() + " bytes for topic '" + topic + "' (" + transport.limitExplanation() + ")");
        }
        // A copy for one group goes to that group's retry topic, due or not: no other group reads it.
        // The delay picks the tier, so a long delay never holds back a short one (DelayTiers).
        String target = m.group() != null ? transport.retryTarget(transport.retryTopic(topic, m.group()), m.delay().toMillis())
                : due == 0 ? topic : transport.retryTarget(transport.retryTopic(topic), m.delay().toMillis());
        return new ProducerRecord<>(target, null, null, key, m.body(), headers);
    }

    /**
     * A delayed record sits in its retry topic until it is due; one due after the topic's
     * {@code retention.ms} could be deleted first. Refused here (the core then sends the original
     * back after a back-off and reports it), never lost silently.
     */
    private void refuseDelaysBeyondRetention(List<Outbound> messages, List<ProducerRecord<byte[], byte[]>> records) {
        for (int i = 0; i < messages.size(); i++) {
            Outbound m = messages.get(i);
            String target = records.get(i).topic();
            if (m.delay().isZero() || target.equals(topic)) {
                continue;
            }
            long retention = transport.retentionMs(target);
            if (retention >= 0 && m.delay().toMillis() >= retention) {
                throw new ResqException("message " + m.id() + " has a delay of " + m.delay().toMillis() + " ms, not shorter than "
                        + "retention.ms " + retention + " of Kafka topic '" + target + "' at " + transport.bootstrap()
                        + ": it could be deleted before it is due. Raise retention.ms of '" + target + "' above the longest "
                        + "redelivery delay, or lower the redelivery policy's maxDelay");
            }
        }
    }

    private Exception failure(Outbound m, ProducerRecord<byte[], byte[]> record, Exception error) {
        if (error instanceof RecordTooLargeException) {
            return new IllegalArgumentException("Kafka at " + transport.bootstrap() + " refused message " + m.id() + " to topic '"
                    + record.topic() + "' as too large (body " + m.body().length + " bytes, limit " + transport.maxBodySize()
                    + " bytes; the topic's max.message.bytes may be lower): " + error.getMessage(), error);
        }
        if (transport.isClosed()) {
            return closed();
        }
        return new ResqException("Kafka at " + transport.bootstrap() + " did not confirm message " + m.id() + " to topic '"
                + record.topic() + "': " + error, error);
    }

    private IllegalStateException closed() {
        return new IllegalStateException("Kafka transport to " + transport.bootstrap() + " is closed; cannot send to topic '" + topic + "'");
    }
}
