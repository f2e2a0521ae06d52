package io.resq.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * The Kafka record headers this transport reads and writes, and their conversion to the
 * string map of the SPI. Values are UTF-8.
 */
final class HeaderMapping {

    /** The message id; the same name the wire format uses for raw-mode ids, so other consumers can read it. */
    static final String ID = "resq-id";
    /** Retry-topic records: when the record is due, in epoch milliseconds. Transport-internal, not shown in deliveries. */
    static final String DUE = "resq-kafka-due";

    private HeaderMapping() {
    }

    /** Kafka headers for {@code headers}, the id and (for delayed records) the due time. */
    static Headers toKafka(Map<String, String> headers, String id, long dueMillis) {
        org.apache.kafka.common.header.internals.RecordHeaders out = new org.apache.kafka.common.header.internals.RecordHeaders();
        headers.forEach((k, v) -> {
            if (!k.equals(ID) && !k.equals(DUE)) {
                out.add(new SentHeader(k, v == null ? null : BinaryText.toBytes(v)));
            }
        });
        out.add(new SentHeader(ID, id.getBytes(StandardCharsets.UTF_8)));
        if (dueMillis > 0) {
            out.add(new SentHeader(DUE, Long.toString(dueMillis).getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /**
     * A header this transport sends. Kafka's own {@code RecordHeader} synchronizes every
     * {@code key()} and {@code value()}, and the producer reads each header three times per
     * record (twice sizing it, once writing it): about a tenth of the sending thread's time with
     * three headers, measured. This one is immutable and needs no lock.
     */
    private record SentHeader(String key, byte[] value) implements Header {
    }

    /**
     * The SPI's view: every header but the transport-internal ones; a repeated name keeps its last
     * value. A value that is not UTF-8 text is carried as {@link BinaryText} does, so copies send the same bytes.
     */
    static Map<String, String> fromKafka(Headers headers) {
        Header[] all = headers.toArray();
        HeaderMap.Builder out = new HeaderMap.Builder(all.length);
        for (Header h : all) {
            // Read once each: a fetched header's key() and value() take a lock and decode or copy.
            String key = h.key();
            if (!key.equals(DUE)) {
                byte[] value = h.value();
                out.put(key, value == null ? "" : BinaryText.toText(value));
            }
        }
        return out.build();
    }

    /** The last value of {@code name} as a string, or {@code null}. */
    static String last(Headers headers, String name) {
        Header h = headers.lastHeader(name);
        byte[] value = h == null ? null : h.value();
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** The due time of a retry-topic record, or 0 when it carries none (or an unreadable one). */
    static long due(Headers headers) {
        String v = last(headers, DUE);
        if (v == null) {
            return 0;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Approximate serialized size of the headers (names, values and per-header varints). */
    static int size(Headers headers) {
        int n = 0;
        for (Header h : headers) {
            byte[] value = h.value();
            n += h.key().getBytes(StandardCharsets.UTF_8).length + (value == null ? 0 : value.length) + 10;
        }
        return n;
    }

    static Headers empty() {
        return new org.apache.kafka.common.header.internals.RecordHeaders();
    }
}
